"""From two levels per customer to a class, and the class in one sentence a rep can read.

The rule (:class:`ClassRule`) is a table from settings: scheme "value_potential" looks the
class up by value level × potential level (``grid``), scheme "profit_ease" by value level ×
ease level (``ease_grid``). Two exceptions come first: a customer with too little history
for a value is classed by its potential level alone (``potential_only``) unless the value it
already shows earns a better class on the grid (a new customer whose first months' profit
is above the value cuts is classed on that value: thin history never hides value evidence,
it only keeps a short record from pulling a customer down), and under
"value_potential" an unprofitable customer (value zero or below) that is hard to serve
(ease_score below ``hard_to_serve_ease``) gets ``hard_to_serve_class``. Settings refuse a
grid in which more value moves a customer down a class, so with the other figures fixed the
class never falls as value rises.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..settings.segments import SegmentSettings

__all__ = [
    "RULE_GRID",
    "RULE_HARD",
    "RULE_POTENTIAL",
    "ClassRule",
    "money_apart",
    "money_text",
    "percent_text",
]

#: How a customer was classed (codes of :meth:`ClassRule.classify`'s second result).
RULE_GRID, RULE_HARD, RULE_POTENTIAL = 0, 1, 2


@dataclasses.dataclass(frozen=True)
class ClassRule:
    """The classing table of one run.

    Attributes
    ----------
    names
        Class names, best first (code 0 is the best class).
    grid
        ``grid[value_level, second_level]`` → class code; level 0 is the lowest (second
        axis: potential, or ease under "profit_ease").
    potential_only
        ``potential_only[potential_level]`` → class code.
    hard_class
        Code of unprofitable, hard-to-serve customers (``-1``: no such rule).
    hard_ease
        Ease score below which a customer is hard to serve.
    """

    names: tuple[str, ...]
    scheme: str
    grid: np.ndarray
    potential_only: np.ndarray
    hard_class: int
    hard_ease: float
    ease_cuts: tuple[float, ...]
    #: a thin customer at the lowest value level takes its potential-only class even when
    #: the grid's is better (the value-only rule: with no potential, no value says nothing)
    thin_lowest_alone: bool = False

    @classmethod
    def from_settings(cls, s: SegmentSettings) -> ClassRule:
        """The rule of a settings section.

        Examples
        --------
        >>> r = ClassRule.from_settings(SegmentSettings())
        >>> r.grid.tolist()  # rows: value low → high; columns: potential low → high
        [[3, 2, 1], [2, 2, 1], [0, 0, 0]]
        """
        names = tuple(s.classes)
        code = {c: i for i, c in enumerate(names)}
        table = s.grid if s.scheme == "value_potential" else s.ease_grid
        grid = np.array([[code[c] for c in row] for row in table], dtype=np.int8)[::-1, ::-1]
        pot = np.array([code[c] for c in s.potential_only], dtype=np.int8)[::-1]
        hard = (
            code[s.hard_to_serve_class]
            if s.hard_to_serve_class and s.scheme == "value_potential"
            else -1
        )
        return cls(
            names=names,
            scheme=s.scheme,
            grid=np.ascontiguousarray(grid),
            potential_only=np.ascontiguousarray(pot),
            hard_class=hard,
            hard_ease=s.hard_to_serve_ease,
            ease_cuts=tuple(s.ease_cuts),
        )

    def value_only(self, s: SegmentSettings) -> ClassRule:
        """The rule when no potential figure exists: ``value_only`` (else the first
        classes) by value level, one potential level whose potential-only class is the
        last; the ease grid of "profit_ease" is kept.

        Examples
        --------
        >>> r = ClassRule.from_settings(SegmentSettings()).value_only(SegmentSettings())
        >>> r.grid.tolist(), r.potential_only.tolist()
        ([[2], [1], [0]], [3])
        """
        code = {c: i for i, c in enumerate(self.names)}
        grid = self.grid
        if self.scheme == "value_potential":
            worst = len(self.names) - 1
            by_value = s.value_only or [self.names[min(i, worst)] for i in range(self.value_levels)]
            grid = np.array([[code[c]] for c in by_value], dtype=np.int8)[::-1]
        worst_only = np.array([len(self.names) - 1], dtype=np.int8)
        return dataclasses.replace(
            self,
            grid=np.ascontiguousarray(grid),
            potential_only=worst_only,
            thin_lowest_alone=True,
        )

    @property
    def value_levels(self) -> int:
        """Levels on the value axis."""
        return int(self.grid.shape[0])

    @property
    def potential_levels(self) -> int:
        """Levels on the potential axis."""
        return len(self.potential_only)

    def ease_levels(self, ease: np.ndarray) -> np.ndarray:
        """Ease level of each customer (0 = hardest); a missing score is the middle level."""
        e = np.asarray(ease, dtype=np.float64)
        out = np.searchsorted(np.asarray(self.ease_cuts), np.nan_to_num(e), side="right")
        out[np.isnan(e)] = len(self.ease_cuts) // 2
        return out.astype(np.int8)

    def classify(
        self,
        value_level: np.ndarray,
        second_level: np.ndarray,
        potential_level: np.ndarray,
        thin: np.ndarray,
        unprofitable_hard: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Class code and rule code of each customer (vectorised).

        ``second_level`` is the potential level under "value_potential" and the ease level
        under "profit_ease"; ``thin`` marks customers with too little history for a value:
        each gets the better of its potential-only class and its grid class (rule
        :data:`RULE_POTENTIAL` when the potential-only class is that better one or ties,
        :data:`RULE_GRID` when the value it shows lifts it).

        Examples
        --------
        >>> r = ClassRule.from_settings(SegmentSettings())
        >>> z = np.zeros(3, bool)
        >>> c, _ = r.classify(np.array([2, 0, 0]), np.array([0, 2, 0]), np.array([0, 2, 0]), z, z)
        >>> [r.names[i] for i in c]
        ['A', 'B', 'D']

        Thin history: a new customer at the top value level with no headroom is A on its
        value; one at the lowest value level is classed on potential alone.

        >>> thin = np.ones(2, bool)
        >>> c, code = r.classify(np.array([2, 0]), np.array([0, 0]), np.array([0, 0]), thin, z[:2])
        >>> [r.names[i] for i in c], code.tolist()
        (['A', 'D'], [0, 2])
        """
        grid_codes = self.grid[value_level, second_level]
        codes = grid_codes
        rule = np.zeros(len(codes), dtype=np.int8)
        if self.hard_class >= 0:
            hard = unprofitable_hard & ~thin
            codes = np.where(hard, np.int8(self.hard_class), codes)
            rule[hard] = RULE_HARD
        by_potential = self.potential_only[potential_level]
        alone = thin & (by_potential <= grid_codes)
        if self.thin_lowest_alone:
            alone |= thin & (value_level == 0)
        codes = np.where(alone, by_potential, codes)
        rule[alone] = RULE_POTENTIAL
        return codes.astype(np.int8), rule


# -- text, vectorised with Arrow ---------------------------------------------------------


def _num_text(x: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(x, pa.float64()), pa.string())


def money_text(x: np.ndarray, symbol: str = "€") -> pa.Array:
    """Money as a rep reads it: €950, €4.2k, €48k, €1.3M (missing → "?").

    Examples
    --------
    >>> money_text(np.array([950.0, 4210.0, 48213.0, -1250.0, 1.26e6, np.nan])).to_pylist()
    ['€950', '€4.2k', '€48k', '-€1.2k', '€1.3M', '?']
    """
    x = np.asarray(x, dtype=np.float64)
    a = np.abs(np.nan_to_num(x))
    scales = np.array([1.0, 1e3, 1e6, 1e9])
    suffix = np.array(["", "k", "M", "bn"], dtype=object)
    s = np.clip(np.searchsorted(scales, a, side="right") - 1, 0, 3)
    q = a / scales[s]
    r = np.where(q < 10, np.round(q, 1), np.round(q))
    # 999.7k rounds to 1000k: say 1M instead
    up = (r >= 1000) & (s < 3)
    s = np.where(up, s + 1, s)
    r = np.where(up, np.round(r / 1000, 1), r)
    r = np.where(s == 0, np.round(a), r)
    sign = np.where(np.nan_to_num(x) < 0, "-", "")
    text = pc.binary_join_element_wise(
        pa.array(sign.astype(object), pa.string()),
        pa.scalar(symbol),
        _num_text(r),
        pa.array(suffix[s], pa.string()),
        "",
    )
    return pc.if_else(pa.array(np.isnan(x)), pa.scalar("?"), text)


def money_apart(x: np.ndarray, y: np.ndarray, symbol: str = "€") -> tuple[pa.Array, pa.Array]:
    """:func:`money_text` of ``x`` and of ``y``, each pair that would read the same though
    the two differ written with as many more digits as tell them apart: a figure and the cut
    it stands above read "€11.5k, above the upper cut of €10.8k", not "€11k, above the upper
    cut of €11k".

    Examples
    --------
    >>> a, b = money_apart(np.array([11472.0, 48213.0, 900.0]), np.array([10840.0, 30e3, 900.0]))
    >>> a.to_pylist(), b.to_pylist()
    (['€11.5k', '€48k', '€900'], ['€10.8k', '€30k', '€900'])
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    tx, ty = money_text(x, symbol), money_text(y, symbol)
    same = np.asarray(pc.equal(tx, ty).to_numpy(zero_copy_only=False), bool)
    same &= (x != y) & np.isfinite(x) & np.isfinite(y)
    if not same.any():
        return tx, ty
    lx, ly = tx.to_pylist(), ty.to_pylist()
    for i in np.flatnonzero(same):
        big = max(abs(x[i]), abs(y[i]))
        scale, suffix = next(
            ((v, s) for v, s in ((1e9, "bn"), (1e6, "M"), (1e3, "k")) if big >= v), (1.0, "")
        )
        for digits in range(1, 10):
            fx, fy = (f"{abs(v) / scale:.{digits}f}".rstrip("0").rstrip(".") for v in (x[i], y[i]))
            if fx != fy:
                break
        lx[i] = ("-" if x[i] < 0 else "") + symbol + fx + suffix
        ly[i] = ("-" if y[i] < 0 else "") + symbol + fy + suffix
    return pa.array(lx, pa.string()), pa.array(ly, pa.string())


def percent_text(share: np.ndarray) -> pa.Array:
    """A share as a whole percent ("61%"); missing → "?".

    Examples
    --------
    >>> percent_text(np.array([0.614, 0.0, np.nan])).to_pylist()
    ['61%', '0%', '?']
    """
    s = np.asarray(share, dtype=np.float64)
    txt = pc.binary_join_element_wise(_num_text(np.round(np.nan_to_num(s) * 100)), "%", "")
    return pc.if_else(pa.array(np.isnan(s)), pa.scalar("?"), txt)


def join_text(*parts: pa.Array | pa.Scalar | str) -> pa.Array:
    """Concatenate text arrays and literals element-wise."""
    arrays = [pa.scalar(p) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*arrays, "")


def pick(codes: np.ndarray, texts: Sequence[str]) -> pa.Array:
    """Text per customer looked up by a code."""
    return pa.array(np.asarray(texts, dtype=object)[codes], pa.string())
