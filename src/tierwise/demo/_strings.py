"""Vectorised string building for the demo generator (no per-row Python)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_INT32_MAX = 2**31 - 1


def fixed_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded ``numbers`` as an Arrow string array, built byte-wise.

    Example
    -------
    >>> fixed_ids("C", np.array([7, 42]), 4).to_pylist()
    ['C0007', 'C0042']
    """
    n = len(numbers)
    pre = prefix.encode("ascii")
    p = len(pre)
    w = p + width
    data = np.empty((n, w), dtype=np.uint8)
    if pre:
        data[:, :p] = np.frombuffer(pre, dtype=np.uint8)
    _fill_digits(data, p, width, numbers)
    return _from_bytes(data.reshape(-1), np.arange(n + 1, dtype=np.int64) * w, n)


def take_fixed(values: pa.Array, idx: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """``values[idx]`` for a string array whose strings all have the same byte length,
    gathering whole strings as fixed-size byte records (much faster than Arrow's take).

    Rows where ``null`` is true come back null. Falls back to Arrow's take otherwise.

    Example
    -------
    >>> take_fixed(pa.array(["ab", "cd"]), np.array([1, 1, 0])).to_pylist()
    ['cd', 'cd', 'ab']
    """
    idx = np.asarray(idx)
    n = len(idx)
    if null is not None:
        idx = np.where(null, 0, idx)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[
        values.offset : values.offset + len(values) + 1
    ]
    width = int(offsets[1] - offsets[0]) if len(values) else 0
    if (
        values.type != pa.string()
        or values.null_count
        or width == 0
        or not (np.diff(offsets) == width).all()
    ):
        ind = pa.array(idx.astype(np.int64), mask=null)
        return values.take(ind)
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    out = np.take(data.view(f"V{width}"), idx).view(np.uint8)
    validity = None
    null_count = 0
    if null is not None and null.any():
        validity = pa.py_buffer(np.packbits(~null, bitorder="little"))
        null_count = int(null.sum())
    total = n * width
    off = np.arange(n + 1, dtype=np.int64 if total > _INT32_MAX else np.int32) * width
    typ = pa.large_string() if total > _INT32_MAX else pa.string()
    return pa.Array.from_buffers(
        typ, n, [validity, pa.py_buffer(off), pa.py_buffer(out)], null_count=null_count
    )


def _fill_digits(data: np.ndarray, start: int, width: int, numbers: np.ndarray) -> None:
    """Write ``numbers`` zero-padded into columns start..start+width of a byte matrix."""
    big = len(numbers) and int(np.max(numbers)) >= 2**32
    num: np.ndarray = np.asarray(numbers, dtype=np.int64 if big else np.uint32)
    for j in range(start + width - 1, start - 1, -1):
        q: np.ndarray = num // 10
        data[:, j] = np.subtract(num, q * 10) + 48
        num = q


def _from_bytes(data: np.ndarray, offsets: np.ndarray, n: int) -> pa.Array:
    if offsets[-1] <= _INT32_MAX:
        return pa.Array.from_buffers(
            pa.string(), n, [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)]
        )
    big = pa.Array.from_buffers(
        pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    return big.cast(pa.string()) if offsets[-1] <= _INT32_MAX else big


def pick(words: list[str], idx: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """``words[idx]`` as a string array; rows where ``mask`` is false are null."""
    arr = pa.array(words, type=pa.string())
    ind = pa.array(np.asarray(idx, dtype=np.int32), mask=None if mask is None else ~mask)
    return arr.take(ind)


def join(parts: list[pa.Array | str], sep: str = " ") -> pa.Array:
    """Join string arrays row-wise, skipping nulls (so optional parts leave no gap)."""
    return pc.binary_join_element_wise(*parts, sep, null_handling="skip")


def int_strings(values: np.ndarray, width: int = 0) -> pa.Array:
    """Integers as text, left-padded with zeros to ``width``."""
    s = pa.array(np.asarray(values, dtype=np.int64)).cast(pa.string())
    return pc.utf8_lpad(s, width, "0") if width else s


def typos(names: pa.Array, rng: np.random.Generator) -> pa.Array:
    """One typo per name: two neighbouring letters swapped or one letter dropped.

    Works on a fixed-width code-point matrix, so every name is handled at once.
    """
    n = len(names)
    if n == 0:
        return names
    u = np.asarray(names.to_numpy(zero_copy_only=False), dtype=str)
    width = u.dtype.itemsize // 4
    m = u.view(np.uint32).reshape(n, width).copy()
    length = (m != 0).sum(axis=1)
    # position inside the name, away from the first letter (keeps blocking keys realistic)
    pos = 1 + np.floor(rng.random(n) * np.maximum(length - 2, 1)).astype(np.int64)
    pos = np.minimum(pos, np.maximum(length - 2, 0))
    swap = rng.random(n) < 0.5
    rows = np.arange(n)
    a = m[rows, pos].copy()
    b = m[rows, np.minimum(pos + 1, width - 1)].copy()
    out = m.copy()
    s = swap & (length >= 3)
    out[rows[s], pos[s]] = b[s]
    out[rows[s], pos[s] + 1] = a[s]
    d = ~swap & (length >= 3)
    cols = np.arange(width)
    shifted = np.where(cols[None, :] >= pos[:, None], np.roll(m, -1, axis=1), m)
    shifted[:, -1] = 0
    out[d] = shifted[d]
    res = out.view(f"<U{width}").reshape(n)
    return pa.array(res.tolist(), type=pa.string())
