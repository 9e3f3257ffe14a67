"""Two businesses in one building: distinct demo companies that share an address.

A business park, a shopping centre or a serviced office puts several companies behind one
street address and postcode, and a serviced office often answers them all on one
switchboard number. Those companies are *not* duplicates of each other, and a matcher that
trusts an address (or an address and a phone) merges them: a hotel with the bicycle shop
next door, a reseller with the warehouse upstairs. The demo plants such buildings so the
accounts stage is measured against them.

Tenants are drawn within a city, in buildings of two to four. Most buildings take
companies at random (no two with the same first word); some take companies whose names
start with the same word but differ in their trade ("Mason Dental Ltd" and "Mason
Logistics Ltd" in one business park): the hard case, where a whole-name string similarity
is high. Every record of a tenant that
carries the company's own address (not a second site's) moves to the building: its
address ("4 Riverside Business Park", in half the buildings with the tenant's unit in
front: "Unit 7, 4 Riverside Business Park") and postcode; in serviced offices most tenants'
phone becomes the switchboard's. Names, e-mail domains, tax ids and head counts stay each
company's own.

The draws come from a random stream of their own (seeded from the demo seed), so the rest
of the demo — orders, payments, truths — is the same with or without the buildings.

Truth: ``building_id`` on every record of a tenant company (NULL for the others); records
of different ``company_id`` sharing a ``building_id`` must never be merged.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import _words as W
from ._strings import fixed_ids, int_strings, join, pick

__all__ = ["SHARED_BUILDING_SHARE", "plant_shared_buildings"]

#: Share of the demo's companies that are tenants of a shared building.
SHARED_BUILDING_SHARE = 0.05

#: Share of the buildings whose tenants have names starting with the same word.
_SAME_FIRST_WORD_SHARE = 0.3

#: Kinds of building (the address's last words) and how often each is drawn.
_KINDS = ("Business Park", "Shopping Centre", "House")
_KIND_P = (0.45, 0.25, 0.30)
_SERVICED = 2  # "House": a serviced office building

#: Share of a serviced office's tenants that answer on the building's switchboard.
_SWITCHBOARD_SHARE = 0.6

#: Building sizes (tenants) and how often each is drawn.
_SIZES = (2, 3, 4)
_SIZE_P = (0.5, 0.3, 0.2)


def _groups(rng: np.random.Generator, city: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Consecutive buildings of 2-4 among companies ordered by (city, key): a building id
    per company (-1 for a company left over at a city's end)."""
    n = len(city)
    out = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return out
    order = np.lexsort((key, city))
    c = city[order]
    start = np.r_[True, c[1:] != c[:-1]]
    first = np.flatnonzero(start)
    rank = np.arange(n) - np.repeat(first, np.diff(np.r_[first, n]))
    sizes = rng.choice(_SIZES, size=n, p=_SIZE_P)
    bounds = np.cumsum(sizes)
    local = np.searchsorted(bounds, rank, side="right")
    city_code = np.cumsum(start) - 1
    gid = city_code * (n + 1) + local
    # a building needs two tenants: one left alone at a city's end is no tenant
    _, inv, counts = np.unique(gid, return_inverse=True, return_counts=True)
    ok = counts[inv] >= 2
    _, dense = np.unique(gid[ok], return_inverse=True)
    out[order[ok]] = dense
    return out


def plant_shared_buildings(
    customers: pa.Table,
    rec_comp: np.ndarray,
    rec_j: np.ndarray,
    names: dict[str, np.ndarray],
    seed: int,
) -> tuple[pa.Table, pa.Array]:
    """Move some companies into shared buildings.

    Parameters
    ----------
    customers
        The customer master in record order (row *r* is a record of company
        ``rec_comp[r]``; ``rec_j[r] == 0`` marks the company's own first record).
    rec_comp, rec_j
        Company and record number within the company, per record.
    names
        The companies' name components (``pattern``, ``stem``, ``ind``, ``word``, as the
        generator draws them): the first word and the trade word of each name.
    seed
        The demo seed.

    Returns
    -------
    customers
        The master with the tenants' addresses, postcodes and switchboard phones.
    building_id
        Per record, the building of its company (``B0001``, ...) or NULL.
    """
    rng = np.random.default_rng([seed, 0xB11D])
    n_rec = customers.num_rows
    n_comp = int(rec_comp.max()) + 1 if n_rec else 0
    n_tenants = round(SHARED_BUILDING_SHARE * n_comp)
    if n_tenants < 2:
        return customers, pa.nulls(n_rec, pa.string())
    primary = np.flatnonzero(rec_j == 0)
    prim_row = np.zeros(n_comp, dtype=np.int64)
    prim_row[rec_comp[primary]] = primary
    city_names = customers["city"].combine_chunks().take(pa.array(prim_row))
    _, city_of = np.unique(
        np.asarray(city_names.to_numpy(zero_copy_only=False), dtype=object), return_inverse=True
    )
    city_of = city_of.astype(np.int64)
    # the trade word of a name ("Mason Dental Ltd"), -1 where the pattern has none
    has_word = np.isin(names["pattern"], (0, 3, 4))
    trade = np.where(has_word, names["ind"].astype(np.int64) * 4 + names["word"], -1)
    stem = names["stem"].astype(np.int64)

    # the hard buildings: tenants sharing a first word but not a trade, in one city
    pool = rng.permutation(n_comp)
    with_word = pool[trade[pool] >= 0]
    key = (city_of[with_word] * 10_000 + stem[with_word]) * 1_000 + trade[with_word]
    _, first_of = np.unique(key, return_index=True)
    distinct = with_word[np.sort(first_of)]  # one company per city, first word and trade
    hard_b = _groups(rng, city_of[distinct] * 10_000 + stem[distinct], rng.random(len(distinct)))
    hard, hard_b = distinct[hard_b >= 0], hard_b[hard_b >= 0]
    if len(hard_b):
        # as many of them, chosen at random, as make up their share of the tenants
        chosen = rng.permutation(np.unique(hard_b))
        size = np.bincount(hard_b)[chosen]
        chosen = chosen[np.cumsum(size) <= round(_SAME_FIRST_WORD_SHARE * n_tenants)]
        keep = np.isin(hard_b, chosen)
        hard = hard[keep]
        _, hard_b = np.unique(hard_b[keep], return_inverse=True)

    # the other buildings: companies at random within a city, no two of a building with
    # the same first word (the hard buildings above are the ones that share it)
    taken = np.zeros(n_comp, dtype=bool)
    taken[hard] = True
    rest = pool[~taken[pool]][: max(0, n_tenants - len(hard))]
    rest_b = _groups(rng, city_of[rest], rng.random(len(rest)))
    _, first_in = np.unique(rest_b * 10_000 + stem[rest], return_index=True)
    repeat = np.ones(len(rest), dtype=bool)
    repeat[first_in] = False
    rest_b[repeat] = -1
    size = np.bincount(np.maximum(rest_b, 0), weights=rest_b >= 0)
    rest_b[(rest_b >= 0) & (size[np.maximum(rest_b, 0)] < 2)] = -1
    _, rest_b_dense = np.unique(rest_b, return_inverse=True)
    rest_b = np.where(rest_b >= 0, rest_b_dense - (rest_b < 0).any(), -1)
    building_of = np.full(n_comp, -1, dtype=np.int64)
    building_of[hard] = hard_b
    n_hard_b = int(hard_b.max()) + 1 if len(hard_b) else 0
    building_of[rest[rest_b >= 0]] = rest_b[rest_b >= 0] + n_hard_b
    n_b = int(building_of.max()) + 1
    if n_b <= 0:
        return customers, pa.nulls(n_rec, pa.string())

    # each building: address, kind, postcode (one of its tenants'), switchboard
    kind = rng.choice(len(_KINDS), size=n_b, p=_KIND_P)
    street = pick(W.STREETS, rng.integers(0, len(W.STREETS), n_b))
    b_address = join([int_strings(rng.integers(1, 120, n_b)), street, pick(list(_KINDS), kind)])
    with_unit = rng.random(n_b) < 0.5
    tenants = np.flatnonzero(building_of >= 0)
    some_tenant = np.zeros(n_b, dtype=np.int64)
    some_tenant[building_of[tenants]] = tenants
    postcode = customers["postcode"].combine_chunks()
    phone = customers["phone"].combine_chunks()
    b_postcode = postcode.take(pa.array(prim_row[some_tenant]))
    switchboard = join(
        [
            "01",
            int_strings(rng.integers(100, 1000, n_b), 3),
            int_strings(rng.integers(0, 10**6, n_b), 6),
        ],
        "",
    )
    switchboard = pc.utf8_replace_slice(switchboard, 5, 5, " ")
    unit_no = rng.integers(1, 40, n_comp)  # a tenant's unit, the same on all its records
    on_switch_comp = rng.random(n_comp) < _SWITCHBOARD_SHARE

    # which records move: a tenant's records at the company's own address (not a second
    # site's), recognised by the postcode of its first record
    rec_b = building_of[rec_comp]
    b = np.maximum(rec_b, 0)
    bidx = pa.array(b)
    tenant_rec = rec_b >= 0

    def same_as_first(col: pa.Array) -> np.ndarray:
        own = col.take(pa.array(prim_row[rec_comp]))
        eq = pc.equal(pc.replace_substring(own, " ", ""), pc.replace_substring(col, " ", ""))
        return np.asarray(pc.fill_null(eq, False).to_numpy(zero_copy_only=False), dtype=bool)

    move = tenant_rec & same_as_first(postcode)
    unit = join(["Unit", pc.binary_join_element_wise(int_strings(unit_no[rec_comp]), ",", "")])
    new_address = pc.if_else(
        pa.array(with_unit[b]), join([unit, b_address.take(bidx)]), b_address.take(bidx)
    )
    address = pc.if_else(pa.array(move), new_address, customers["address"].combine_chunks())
    new_postcode = pc.if_else(pa.array(move), b_postcode.take(bidx), postcode)
    on_switch = (
        tenant_rec & same_as_first(phone) & (kind[b] == _SERVICED) & on_switch_comp[rec_comp]
    )
    new_phone = pc.if_else(pa.array(on_switch), switchboard.take(bidx), phone)

    out = customers
    for name, col in (("address", address), ("postcode", new_postcode), ("phone", new_phone)):
        out = out.set_column(out.column_names.index(name), name, col)
    building_id = fixed_ids("B", b + 1, max(4, len(str(n_b))))
    building_id = pc.if_else(pa.array(tenant_rec), building_id, pa.scalar(None, pa.string()))
    return out, building_id
