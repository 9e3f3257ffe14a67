"""Planted basket affinities: pairs of products that the demo's orders hold together.

Each order line picks its category from its company's mix and its product by popularity,
independently of the order's other lines, so without help no pair of products would be
bought together more than chance (beyond what the company's category mix gives). Here a few
anchor products get a partner from another category: in an order, the line after an anchor
line becomes the anchor's partner with probability :data:`PAIR_PROBABILITY`. The pairs are
the truth the cross-sell stage's basket rules should find (``DemoData.planted_pairs``).

The draws come from their own generator (seeded from the demo seed), so planting leaves the
rest of the demo's random stream, and every other table, as it was.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from . import _words as W

__all__ = ["PAIR_PROBABILITY", "PLANTED_PAIRS", "PairPlanter", "plant_pairs", "planted_pairs"]

#: (anchor category, anchor popularity rank, partner category, partner popularity rank);
#: rank 0 is a category's most popular product (ranks beyond the catalogue are clipped).
PLANTED_PAIRS: tuple[tuple[str, int, str, int], ...] = (
    ("Power Tools", 0, "Safety & PPE", 11),  # a drill and safety goggles
    ("Plumbing", 1, "Adhesives & Chemicals", 7),  # pipe fittings and thread sealant
    ("Electrical", 0, "Hand Tools", 14),  # cable and wire strippers
    ("Packaging", 2, "Office Supplies", 5),  # boxes and shipping labels
    ("Cleaning & Hygiene", 0, "Safety & PPE", 19),  # detergent and nitrile gloves
)

#: Chance that the line after an anchor line, in the same order, is the anchor's partner.
PAIR_PROBABILITY = 0.6

#: Mixed into the demo seed for the planting's own generator.
_SALT = 0xBA5CE7

_CATEGORIES = list(W.CATEGORIES)


def _pairs_as_indices(n_per_category: int) -> list[tuple[int, int]]:
    out = []
    for cat_a, rank_a, cat_b, rank_b in PLANTED_PAIRS:
        a = _CATEGORIES.index(cat_a) * n_per_category + min(rank_a, n_per_category - 1)
        b = _CATEGORIES.index(cat_b) * n_per_category + min(rank_b, n_per_category - 1)
        out.append((a, b))
    return out


def _partners(n_per_category: int) -> np.ndarray:
    """Partner product of each product (-1 for a product that is no anchor)."""
    partner = np.full(len(_CATEGORIES) * n_per_category, -1, dtype=np.int64)
    for a, b in _pairs_as_indices(n_per_category):
        partner[a] = b
    return partner


def _plant(prod: np.ndarray, ordr: np.ndarray, partner: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``prod`` with line i + 1 made line i's partner where u[i] < PAIR_PROBABILITY."""
    out = prod.copy()
    if len(prod) < 2:
        return out
    follows = partner[prod[:-1]]
    swap = (ordr[1:] == ordr[:-1]) & (follows >= 0) & (u[: len(prod) - 1] < PAIR_PROBABILITY)
    out[1:][swap] = follows[swap].astype(out.dtype)
    return out


def plant_pairs(
    product: np.ndarray, order: np.ndarray, n_per_category: int, seed: int
) -> np.ndarray:
    """The lines' products with the planted partners put in after their anchors.

    Parameters
    ----------
    product
        Product index of each line (category index × ``n_per_category`` + rank).
    order
        Order index of each line; the lines of an order are consecutive.
    n_per_category
        Products per category.
    seed
        The demo seed.

    Examples
    --------
    >>> p = np.array([0, 5, 7, 0, 3])  # with 4 products a category: 0 is Fasteners' first
    >>> o = np.array([0, 0, 0, 1, 2])
    >>> plant_pairs(p, o, 4, seed=1).tolist()  # no pair planted on Fasteners
    [0, 5, 7, 0, 3]
    """
    prod = np.asarray(product)
    if len(prod) < 2:
        return prod.copy()
    rng = np.random.default_rng([seed, _SALT])
    return _plant(prod, np.asarray(order), _partners(n_per_category), rng.random(len(prod) - 1))


class PairPlanter:
    """:func:`plant_pairs` over the lines in consecutive pieces, each piece whole orders:
    the pieces' results, concatenated, are those of one call on all the lines.

    Line i's draw decides whether line i + 1 becomes its partner; a piece's last line
    draws for the next piece's first line, which belongs to another order, so that draw
    never plants and the pieces can be cut anywhere between orders.

    Examples
    --------
    >>> p = np.array([160, 7, 160, 3, 160, 8])  # 160: Cleaning & Hygiene's first, an anchor
    >>> o = np.array([0, 0, 1, 1, 2, 2])
    >>> plant_pairs(p, o, 40, seed=1).tolist()
    [160, 7, 160, 139, 160, 8]
    >>> planter = PairPlanter(40, seed=1)
    >>> np.concatenate([planter(p[:4], o[:4]), planter(p[4:], o[4:])]).tolist()
    [160, 7, 160, 139, 160, 8]
    """

    def __init__(self, n_per_category: int, seed: int) -> None:
        self._partner = _partners(n_per_category)
        self._rng = np.random.default_rng([seed, _SALT])

    def __call__(self, product: np.ndarray, order: np.ndarray) -> np.ndarray:
        prod = np.asarray(product)
        return _plant(prod, np.asarray(order), self._partner, self._rng.random(len(prod)))


def planted_pairs(products: pa.Table) -> pa.Table:
    """The planted pairs as product ids: antecedent, consequent, their categories, and the
    probability that the line after an antecedent line is the consequent.

    Examples
    --------
    >>> from tierwise.demo import generate
    >>> t = planted_pairs(generate(n_customers=50, seed=1).products)
    >>> t.slice(0, 1).to_pylist()[0]["antecedent_category"]
    'Power Tools'
    """
    n_per_category = products.num_rows // len(_CATEGORIES)
    ids = products.column("product_id")
    idx = _pairs_as_indices(n_per_category)
    return pa.table(
        {
            "antecedent": ids.take(pa.array([a for a, _ in idx])),
            "consequent": ids.take(pa.array([b for _, b in idx])),
            "antecedent_category": pa.array([p[0] for p in PLANTED_PAIRS]),
            "consequent_category": pa.array([p[2] for p in PLANTED_PAIRS]),
            "probability": pa.array([PAIR_PROBABILITY] * len(PLANTED_PAIRS), pa.float64()),
        }
    )
