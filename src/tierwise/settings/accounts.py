"""Settings for the accounts stage: finding duplicate customer records and rolling them up."""

from __future__ import annotations

import difflib
import itertools
from typing import Any

from pydantic import Field, field_validator, model_validator

from ._base import Section

#: Columns the accounts stage derives from the customer master and that blocking rules may use.
BLOCKING_COLUMNS = (
    "name_norm",
    "name_core",
    "name_prefix",
    "address_norm",
    "address_number",
    "postcode_norm",
    "postcode_prefix",
    "city_norm",
    "phone_norm",
    "email_domain",
    "tax_id_norm",
)


#: The customer master's columns, as a rule might name them, and the derived column each
#: stands for in a blocking rule.
_DERIVED_FROM = {
    "name": "name_core",
    "company": "name_core",
    "address": "address_norm",
    "street": "address_norm",
    "house_number": "address_number",
    "postcode": "postcode_norm",
    "zip": "postcode_norm",
    "city": "city_norm",
    "phone": "phone_norm",
    "email": "email_domain",
    "domain": "email_domain",
    "tax_id": "tax_id_norm",
    "vat": "tax_id_norm",
}


def _unknown_column(col: Any, where: str) -> str:
    """What to write instead of ``col`` in a blocking rule: the derived column it most
    likely means, or the list of them."""
    text = str(col)
    key = text.strip().lower()
    if any(mark in text for mark in ("=", "l.", "r.", " and ", "(")):
        return (
            f"{text!r} in {where} is a SQL condition: a rule lists the columns two records "
            'must share, e.g. ["name_core", "postcode_norm"]'
        )
    guess = key if key in BLOCKING_COLUMNS else _DERIVED_FROM.get(key)
    if guess is None:
        close = difflib.get_close_matches(key, [*BLOCKING_COLUMNS, *_DERIVED_FROM], 1, 0.6)
        guess = _DERIVED_FROM.get(close[0], close[0]) if close else None
    if guess is not None:
        return (
            f"unknown column {text!r} in {where} (did you mean {guess}? rules name the "
            "columns tierwise derives from the customer master)"
        )
    return f"unknown column {text!r} in {where} (use one of {', '.join(BLOCKING_COLUMNS)})"


class AccountSettings(Section):
    """Duplicate customer records and account roll-up."""

    decisions_file: str | list[str] | None = None
    """Review decisions from earlier runs: a CSV (or a list of them) with left_id, right_id
    and decision (confirm or reject), e.g. a run's review_queue.csv with its decision
    column filled in. Confirmed pairs are merged and rejected pairs kept apart. Each run
    writes every decision it applied to review_decisions.csv, so listing that file and the
    newly filled-in queue carries all decisions forward; where a pair is decided twice, the
    later decided_at (then the later file) wins; a decided_at that cannot be read leaves the
    decision undated, and review_decisions.csv keeps the text in decided_at_as_written for
    the next run to read again. The queue may be filled in where the run
    wrote it: a run into that same output folder reads the queue, and the review_decisions.csv
    beside it, before it replaces the folder, and the new folder keeps them applied. A
    relative path is relative to the settings file's folder. Default: none."""

    @property
    def decisions_files(self) -> list[str]:
        """``decisions_file`` as a list (empty when none)."""
        f = self.decisions_file
        return [] if f is None else [f] if isinstance(f, str) else list(f)

    report_abc_cuts: list[float] = Field(default_factory=lambda: [0.8, 0.95])
    """Cumulative shares of revenue (over ``report_window_months``) that close classes A,
    B, ... in the merge report, which lists the accounts whose class changes when their
    records are merged ("3 records (C, C, B) → one A account"): one class per cut, one for
    the rest of the customers with revenue, and one for those without. Fractions between 0
    and 1, increasing (0.8, not 80). Default [0.8, 0.95]."""

    report_window_months: int = Field(default=12, ge=1, le=120)
    """Months of revenue, ending at the analysis date, that the merge report ranks records
    and accounts by; months. Default 12."""

    report_examples: int = Field(default=10, ge=0, le=1000)
    """Examples the manifest lists: the largest merged accounts and the accounts whose
    class changes; accounts. Default 10."""

    enabled: bool = True
    """Look for duplicate customer records at all. When false every record is its own
    account (parent_id roll-up and stored decisions still apply). Default true."""

    match_threshold: float = Field(default=0.9, gt=0.0, le=1.0)
    """Two records whose Splink match probability is at or above this are merged into one
    account; probability (0-1). Default 0.9."""

    review_lower: float = Field(default=0.5, ge=0.0, le=1.0)
    """Pairs with a match probability at or above this and below ``review_upper`` go to the
    review queue for a person to confirm or reject; probability (0-1). Default 0.5."""

    review_upper: float = Field(default=0.95, ge=0.0, le=1.0)
    """Upper end of the review band (exclusive); probability (0-1). Default 0.95, so pairs
    merged with a probability between ``match_threshold`` and 0.95 are also shown. Below
    ``match_threshold`` it is taken as ``match_threshold``: a pair not merged is shown
    whenever it reaches ``review_lower``."""

    blocking_rules: list[list[str]] = Field(
        default_factory=lambda: [
            ["name_core"],
            ["postcode_norm", "name_prefix"],
            ["postcode_norm", "address_number"],
            ["city_norm", "address_number", "name_prefix"],
            ["phone_norm"],
            ["email_domain"],
            ["tax_id_norm"],
        ]
    )
    """Candidate pairs are the record pairs that agree exactly on all columns of at least one
    rule (Splink blocking rules); list of lists of derived column names (name_norm,
    name_core, name_prefix, address_norm, address_number, postcode_norm, postcode_prefix,
    city_norm, phone_norm, email_domain, tax_id_norm). Default: same core name; same
    postcode and name start (first 3 letters); same postcode and house number; same city,
    house number and name start; same phone; same e-mail domain; same tax id. A rule on
    city and name start alone is too loose for big cities (millions of pairs)."""

    max_block_records: int = Field(default=300, ge=2)
    """A blocking key value shared by more records than this (a common name, a big
    company's e-mail domain) is too large a block: its records are told apart further by
    the next column of ``block_refinements`` (and, where that is not enough, the next),
    and a value still that common after the last one is not blocked on by that rule (the
    other rules still find its pairs). Done automatically and reported in the manifest;
    records. Default 300."""

    block_refinements: list[str] = Field(
        default_factory=lambda: ["city_norm", "postcode_prefix", "name_prefix", "address_number"]
    )
    """Columns added, in turn, to a blocking key whose block is larger than
    ``max_block_records`` (derived column names as in ``blocking_rules``; a column the rule
    already uses is skipped). Default city, postcode start, name start, house number."""

    max_pairs_per_record: float = Field(default=10.0, gt=0.0)
    """Budget of candidate pairs per customer record: when the blocking rules would compare
    more pairs than this times the records, ``max_block_records`` is halved (and halved
    again) for this run until they fit, and the manifest says so; pairs per record.
    Default 10."""

    max_rule_pairs_per_record: float = Field(default=2.0, gt=0.0)
    """Budget of the deterministic rules' candidate pairs (records sharing a tax id, a
    postcode, a phone or a street address) per customer record; beyond it their blocks are
    tightened like the model's (a business park's postcode, a big city's "1 High Street");
    pairs per record. Default 2."""

    max_blocked_pairs: int = Field(default=200_000_000, ge=1)
    """Most candidate pairs any run compares, whatever the budget per record gives; pairs.
    Default 200,000,000."""

    predict_chunk_pairs: int = Field(default=5_000_000, ge=10_000)
    """Candidate pairs scored at a time: above this the pairs are scored in chunks (Splink's
    chunked prediction), so memory holds one chunk's pairs, not all; pairs. Default
    5,000,000."""

    em_max_pairs: int = Field(default=2_000_000, ge=1_000)
    """Most candidate pairs used by each expectation-maximisation training pass (a
    deterministic sample beyond that); pairs. Default 2,000,000."""

    u_max_pairs: int = Field(default=1_000_000, ge=1_000)
    """Random record pairs sampled to estimate the u probabilities (how often non-matches
    agree); pairs. Default 1,000,000 (about 10 seconds on 2 cores; more is more precise for
    rare agreements but slower)."""

    deterministic_recall: float = Field(default=0.6, gt=0.0, le=1.0)
    """Share of true duplicates assumed found by the near-certain rules (same name and
    postcode, same tax id, same phone and name start) when estimating the prior probability
    that two records match; fraction (0-1). Default 0.6."""

    name_thresholds: list[float] = Field(default_factory=lambda: [0.94, 0.88])
    """Jaro-Winkler similarity levels for the core company name, strongest first; similarity
    (0-1). Default [0.94, 0.88]."""

    address_thresholds: list[float] = Field(default_factory=lambda: [0.92, 0.8])
    """Jaro-Winkler similarity levels for the normalised street address, strongest first;
    similarity (0-1). Default [0.92, 0.8]."""

    city_threshold: float = Field(default=0.9, gt=0.0, lt=1.0)
    """Jaro-Winkler similarity at which two city names count as nearly the same (a typo);
    similarity (0-1). Default 0.9."""

    identifier_max_edits: int = Field(default=1, ge=1, le=3)
    """Phones and tax ids this many typed characters apart (Damerau-Levenshtein: a digit
    wrong, missing, extra or two swapped) form the model's "nearly the same" level;
    characters. Default 1."""

    size_ratios: list[float] = Field(default_factory=lambda: [1.25, 2.0])
    """Head-count levels of the model: two records whose employees are within this factor
    of each other (larger / smaller), closest first; a larger difference is evidence that
    the records are different companies. Ratios above 1, increasing. Default [1.25, 2.0]."""

    name_guard: bool = True
    """Never merge two records automatically when their names disagree (neither name's
    words all appear, allowing a typo, in the other's), or when one of them has no name
    (none given, or a placeholder such as "Cash customer" or "N/A"), however much else
    agrees — an address, a switchboard phone and a city are shared by every business in a
    building — nor through other records' matches ("Acme" matching both "Acme Dental" and
    "Acme Maintenance"). Only the same tax id overrides it. Such pairs go to the review
    queue instead. Default true."""

    tax_id_guard: bool = True
    """Never merge two records automatically when both carry a tax id and the ids differ
    (by more than ``identifier_max_edits`` characters), nor through other records' matches:
    they are different legal entities, whatever else agrees (a group's companies share a
    name, a domain and a city). Such pairs go to the review queue instead. Default true."""

    name_token_min_length: int = Field(default=4, ge=1, le=20)
    """Words of a name shorter than this must be spelled the same to agree; longer ones
    may differ by one typed character (a letter wrong, missing, extra or two swapped);
    letters. Default 4."""

    max_size_ratio: float = Field(default=4.0, gt=1.0)
    """The deterministic rules (used where the model cannot be fitted) never merge two
    records whose head counts differ by more than this factor; ratio. Default 4."""

    em_passes: int = Field(default=2, ge=1, le=4)
    """Expectation-maximisation passes that must succeed (blocking on the core name, then
    the postcode; the city and the phone are fall-backs when a pass cannot train); passes.
    Default 2."""

    prefix_length: int = Field(default=3, ge=1, le=10)
    """Characters of the core name in ``name_prefix`` and of the normalised postcode in
    ``postcode_prefix``; characters. Default 3."""

    term_frequency_adjustments: bool = True
    """Weight exact agreement on name, city and e-mail domain by how rare the value is
    (Splink's term-frequency adjustment), so "Acme" agreeing counts for more than "Group".
    Default true."""

    phone_digits: int = Field(default=9, ge=5, le=15)
    """Phones are compared on their last this many digits (drops country and trunk
    prefixes); digits. Default 9."""

    min_phone_digits: int = Field(default=6, ge=1, le=15)
    """A phone with fewer digits than this is treated as missing; digits. Default 6."""

    extra_legal_forms: list[str] = Field(default_factory=list)
    """Legal-form suffixes to strip from company names in addition to the built-in list
    (Ltd, GmbH, SARL, S.p.A., Oy, Sp. z o.o., ...), written as they appear (case and dots do
    not matter); list of text. Default empty."""

    extra_generic_words: list[str] = Field(default_factory=list)
    """Words ignored in the core company name in addition to the built-in list (group,
    holdings, international, services, ...); the deterministic rules also let two names
    differ by them; list of text. Default empty."""

    extra_placeholder_names: list[str] = Field(default_factory=list)
    """Names that stand for no company in particular, in addition to the built-in ones
    (Cash customer, Walk-in, Sundry, N/A, Barverkauf, Client comptoir, Cliente contado, ...),
    written as they appear (case, accents and punctuation do not matter; a number after the
    name, "Cash customer 2", is allowed for). Records named so are never merged with another
    record on what they share (the till's address, phone or postcode): only the same tax id,
    or a person's decision, merges them; list of text. Default empty."""

    large_account_records: int = Field(default=10, ge=2)
    """An account merged from more customer records than this is named in the run's
    warnings, to be checked: a company is rarely entered so often, and a name that stands
    for many customers ("Kontantkunde", not among the built-in placeholders) merges them
    all into one account; records. Default 10."""

    extra_free_mail_domains: list[str] = Field(default_factory=list)
    """E-mail domains that say nothing about the company (in addition to gmail.com,
    outlook.com, web.de, ...); list of domains. Default empty."""

    min_records: int = Field(default=50, ge=2)
    """With fewer customer records than this the Fellegi–Sunter model is not fitted (too
    little data for EM) and the deterministic rules look for duplicates instead (same tax
    id; names that agree as wholes, generic words and legal forms aside, and the same
    postcode, phone, or street address in the same postcode and city); records.
    Default 50."""

    max_em_iterations: int = Field(default=25, ge=1)
    """Most iterations of each expectation-maximisation pass; iterations. Default 25."""

    @field_validator("blocking_rules", mode="before")
    @classmethod
    def _rules_are_lists_of_columns(cls, rules: Any) -> Any:
        example = '[["name_core"], ["postcode_norm", "name_prefix"]]'
        if isinstance(rules, str) or (
            isinstance(rules, list) and rules and all(isinstance(r, str) for r in rules)
        ):
            raise ValueError(
                "each blocking rule is a list of columns, and the setting a list of rules: "
                f"write {example} for two rules (the second on both columns)"
            )
        return rules

    @field_validator("blocking_rules")
    @classmethod
    def _known_blocking_columns(cls, rules: list[list[str]]) -> list[list[str]]:
        if not rules:
            raise ValueError('give at least one blocking rule, e.g. [["name_core"]]')
        for rule in rules:
            if not rule:
                raise ValueError("a blocking rule needs at least one column")
            for col in rule:
                if col not in BLOCKING_COLUMNS:
                    raise ValueError(_unknown_column(col, "a blocking rule"))
        return rules

    @field_validator("block_refinements")
    @classmethod
    def _known_refinement_columns(cls, cols: list[str]) -> list[str]:
        for col in cols:
            if col not in BLOCKING_COLUMNS:
                raise ValueError(_unknown_column(col, "block_refinements"))
        return cols

    @field_validator("report_abc_cuts")
    @classmethod
    def _cuts_are_increasing_fractions(cls, cuts: list[float]) -> list[float]:
        if not cuts:
            raise ValueError("give at least one cut (e.g. [0.8, 0.95])")
        if any(not 0.0 < c < 1.0 for c in cuts):
            raise ValueError(
                f"cuts are cumulative shares of revenue between 0 and 1 (0.8 for 80%), got {cuts}"
            )
        if any(b <= a for a, b in itertools.pairwise(cuts)):
            raise ValueError(f"list the cuts in increasing order (class A first), got {cuts}")
        return cuts

    @field_validator("size_ratios")
    @classmethod
    def _ratios_increasing_above_one(cls, ratios: list[float]) -> list[float]:
        if not ratios:
            raise ValueError("give at least one head-count ratio (e.g. [1.25, 2.0])")
        if any(r <= 1.0 for r in ratios):
            raise ValueError(f"head-count ratios are above 1 (larger / smaller), got {ratios}")
        if any(b <= a for a, b in itertools.pairwise(ratios)):
            raise ValueError(f"list the head-count ratios closest first, got {ratios}")
        return ratios

    @field_validator("name_thresholds", "address_thresholds")
    @classmethod
    def _thresholds_descending(cls, values: list[float]) -> list[float]:
        if not values:
            raise ValueError("give at least one similarity threshold")
        if any(not 0.0 < v < 1.0 for v in values):
            raise ValueError("similarity thresholds must lie strictly between 0 and 1")
        if sorted(values, reverse=True) != values:
            raise ValueError("list similarity thresholds from strongest to weakest")
        return values

    @model_validator(mode="after")
    def _band_is_ordered(self) -> AccountSettings:
        if self.review_lower > self.review_upper:
            raise ValueError(
                f"review_lower ({self.review_lower}) must not exceed review_upper "
                f"({self.review_upper})"
            )
        return self
