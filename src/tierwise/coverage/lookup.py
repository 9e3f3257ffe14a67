"""Look-ups the coverage stage shares between its modules: values of any kind as an Arrow
string array, and each value's position among a list of keys.

The menu (:mod:`~tierwise.coverage.menu`) finds each customer's current rep and inside pool
with them, the stage (:mod:`~tierwise.coverage.stage`) each customer's response class and
today's rep. Keys and values are compared as text, so a rep id read as a number in one file
and as text in another is the same rep.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["positions", "string_array"]


def _text(values: np.ndarray) -> np.ndarray:
    return np.asarray([None if v is None else str(v) for v in values], dtype=object)


def string_array(values: np.ndarray | pa.Array) -> pa.Array:
    """Values as an Arrow string array (``str`` of each, null for ``None``); an Arrow array
    is returned as it is.

    Examples
    --------
    >>> string_array(np.array(["a", None, 3], object)).to_pylist()
    ['a', None, '3']
    """
    if isinstance(values, pa.Array):
        return values
    try:
        return pa.array(values, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array(_text(values), pa.string())


def positions(
    values: np.ndarray | pa.Array, keys: Sequence[object] | np.ndarray, *, missing: int
) -> np.ndarray:
    """Each value's position among ``keys`` (as text; the last of equal keys, as a dict
    of them keeps), ``missing`` for ``None`` and for a value not among them.

    Examples
    --------
    >>> positions(np.array(["b", None, "z", "a"], object), ["a", "b", "a"], missing=-1).tolist()
    [1, -1, -1, 2]
    """
    k = len(keys)
    if k == 0:
        return np.full(len(values), missing, np.int64)
    # the keys reversed: index_in finds the first of equal keys, the last of the keys given
    found = pc.index_in(string_array(values), value_set=pa.array([str(x) for x in keys][::-1]))
    at = np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), np.int64)
    return np.where(at >= 0, k - 1 - at, missing)
