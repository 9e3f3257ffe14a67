"""Look-ups the coverage stage shares between its modules: values of any kind as an Arrow
string array, and each value's position among a list of keys.

The menu (:mod:`~tierwise.coverage.menu`) finds each customer's current rep and inside pool
with them, the stage (:mod:`~tierwise.coverage.stage`) each customer's response class and
today's rep. Keys and values are compared as text, so a rep id read as a number in one file
and as text in another is the same rep. Channel names from a file (a customer's
current_channel, a previous plan's channel) are read as the plan's with
:func:`plan_channels`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import fold_text

__all__ = ["odd_channels_text", "plan_channels", "positions", "string_array"]


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


def plan_channels(
    values: np.ndarray | pa.Array, known: Sequence[str]
) -> tuple[np.ndarray, dict[str, int]]:
    """Channel names from a file read as the plan's: each value that names one of
    ``known`` (both folded as a folded column's values are, :func:`~tierwise.schema.fold_text`:
    without regard to case or surrounding spaces, runs of spaces and hyphens as one
    underscore) becomes that name as ``known`` spells it; any other value is kept folded,
    ``None`` stays ``None``. Also returns the folded values that name none of ``known``,
    each with how many values it stands for, the most frequent first.

    Examples
    --------
    >>> names, odd = plan_channels(
    ...     np.array(["Field", " TELESALES ", None, "Web Shop", "web-shop"], object),
    ...     ["field", "telesales", "email"])
    >>> names.tolist(), odd
    (['field', 'telesales', None, 'web_shop', 'web_shop'], {'web_shop': 2})
    """
    by_key = {fold_text(k): k for k in reversed(list(known))}
    coded = pc.dictionary_encode(string_array(values))
    if isinstance(coded, pa.ChunkedArray):
        coded = coded.combine_chunks()
    folded = [fold_text(v) for v in coded.dictionary.to_pylist()]
    read = np.array([*(by_key.get(f, f) for f in folded), None], dtype=object)
    idx = np.asarray(
        pc.fill_null(coded.indices, len(folded)).to_numpy(zero_copy_only=False), np.int64
    )
    out = read[idx]
    unknown = [i for i, f in enumerate(folded) if f not in by_key]
    counts = np.bincount(idx, minlength=len(folded) + 1)
    odd: dict[str, int] = {}
    for i in unknown:
        odd[folded[i]] = odd.get(folded[i], 0) + int(counts[i])
    return out, dict(sorted(odd.items(), key=lambda kv: (-kv[1], kv[0])))


def odd_channels_text(odd: dict[str, int]) -> tuple[str, int]:
    """The channel values :func:`plan_channels` found naming none of the plan's, as a
    warning shows them (the first five with their counts, then how many more), and how many
    values they stand for.

    Examples
    --------
    >>> odd_channels_text({"web_shop": 2, "fax": 1})
    ("'web_shop' (2), 'fax' (1)", 3)
    """
    shown = ", ".join(f"{v!r} ({c:,})" for v, c in list(odd.items())[:5])
    more = f" and {len(odd) - 5:,} more" if len(odd) > 5 else ""
    return shown + more, sum(odd.values())
