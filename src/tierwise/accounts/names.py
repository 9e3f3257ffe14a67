"""Do two company names agree? Word by word, allowing a typo, on Arrow and NumPy.

Two businesses in one building share the address, the postcode, the city and often the
switchboard number; what tells them apart is the name. A string similarity on the whole
name is a poor judge of that: "mason acme dental" and "mason acme maintenance" share a long
start and score high on Jaro-Winkler, yet they are two companies. Here two names *agree*
when every word of one of them is found in the other — spelled the same, or, for words of
at least ``min_token_length`` letters, one typed character apart (a letter wrong, missing,
extra, or two neighbours swapped: Damerau-Levenshtein distance 1) or as an abbreviation
(the start of a longer word: "deli" in "delicatessen", though "bradleycatering" is not
found in "bradley foods") — or when the names written without spaces
are the same ("masonacme" / "mason acme"), or, for names of at least twice
``min_token_length`` letters, one typed character apart.
So "acme" agrees with "acme dental" (a word left out) and "ashwroth" with "ashworth" (a
typo), while "riverside hotel" and "riverside cycles" disagree. A legal form that survived
normalisation because it was mistyped or glued to the last word ("sonslimited", "tld")
is disregarded.

That test lets one name lack words of the other, which suits the guard laid over the
matching model (the model weighs the rest of the evidence). The deterministic rules merge
on their own, so they ask more with :func:`names_agree_wholly`: the names must agree as
wholes, every word of each found in the other, but for generic words and legal forms
("group", "services", "ltd", also mistyped). "Bäcker Bau" and "Müller Becker Bau" agree
by the first test and not by the second.

Everything is vectorised: names are split into words with Arrow, every word of one name is
paired with every word of the other in NumPy index arithmetic, and the edit-distance test
runs on fixed-width byte matrices built from Arrow's buffers, a batch of word pairs at a
time.

Example
-------
>>> import pyarrow as pa
>>> left = pa.array(["mason acme dental", "acme", "ashwroth", "riverside hotel", None])
>>> right = pa.array(["mason acme maintenance", "acme dental", "ashworth", "riverside cycles",
...                   "acme"])
>>> names_agree(left, right).to_pylist()
[False, True, True, False, None]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["names_agree", "names_agree_wholly", "one_edit_apart", "typos_apart"]

#: Words (and names written without spaces) are compared on their first this many bytes
#: of UTF-8: the width of the byte matrices. Names are folded to ASCII where their script
#: allows, so a byte is a letter; a letter of another script counts as two to four.
_WIDTH = 40

#: Word pairs compared per batch (bounds the matrices' memory: about 2 × 40 × 4 bytes each).
_BATCH = 200_000

#: Legal forms that survive normalisation when mistyped ("Ltd" typed "tLd" or "gLtd") or
#: glued to the last word ("SonsLimited"); the agreement test disregards them there.
_LEGAL_NOISE = ("ltd", "limited", "plc", "llp", "llc", "gmbh", "sarl", "srl")


def _bytes(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes of strings (no NULLs), cut to the first ``_WIDTH``: their offsets
    and the data, from Arrow's buffers (no Python object per string)."""
    values = pc.binary_slice(values.cast(pa.binary()), 0, _WIDTH).cast(pa.large_binary())
    n = len(values)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64)[
        values.offset : values.offset + n + 1
    ]
    buf = values.buffers()[2]
    data = np.frombuffer(buf, dtype=np.uint8) if buf is not None else np.zeros(0, np.uint8)
    return offsets, data


def _matrix(offsets: np.ndarray, data: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Strings as an (n, width) matrix of their bytes, 0-padded, and their lengths."""
    lengths = np.diff(offsets)
    n = len(lengths)
    if data.size == 0 or width == 0:
        return np.zeros((n, max(width, 1)), dtype=np.uint8), lengths
    cols = np.arange(width)
    at = np.minimum(offsets[:-1, None] + cols[None, :], data.size - 1)
    m = np.where(cols[None, :] < lengths[:, None], data[at], 0).astype(np.uint8)
    return m, lengths


def _pair_matrices(
    left: pa.Array, right: pa.Array
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Byte matrices of two string arrays, as wide as their longest string."""
    lo, ld = _bytes(left)
    ro, rd = _bytes(right)
    width = int(max(np.diff(lo).max(initial=0), np.diff(ro).max(initial=0)))
    a, la = _matrix(lo, ld, width)
    b, lb = _matrix(ro, rd, width)
    return a, la, b, lb


def _one_edit(a: np.ndarray, la: np.ndarray, b: np.ndarray, lb: np.ndarray) -> np.ndarray:
    """Rows where ``a`` and ``b`` are equal or one typed character apart."""
    rows = np.arange(len(a))
    mism = a != b
    n_mism = mism.sum(axis=1)
    out = n_mism == 0
    same_len = la == lb
    # one letter wrong
    out |= same_len & (n_mism == 1)
    # two neighbouring letters swapped
    i = mism.argmax(axis=1)
    j = np.minimum(i + 1, a.shape[1] - 1)
    out |= (
        same_len
        & (n_mism == 2)
        & mism[rows, j]
        & (a[rows, i] == b[rows, j])
        & (a[rows, j] == b[rows, i])
    )
    # one letter missing from the shorter: the longer without its first differing letter
    # equals the shorter
    one_longer = np.abs(la - lb) == 1
    if one_longer.any():
        k = np.flatnonzero(one_longer)
        a_longer = (la[k] > lb[k])[:, None]
        g = np.where(a_longer, a[k], b[k])
        s = np.where(a_longer, b[k], a[k])
        p = (g != s).argmax(axis=1)
        cols = np.arange(g.shape[1])[None, :]
        shifted = np.where(cols >= p[:, None], np.roll(g, -1, axis=1), g)
        shifted[:, -1] = 0
        out[k] = (shifted == s).all(axis=1)
    return out


def one_edit_apart(left: pa.Array, right: pa.Array) -> np.ndarray:
    """Where two text arrays are equal or one typed character apart (Damerau-Levenshtein ≤ 1).

    Parameters
    ----------
    left, right
        Text arrays of equal length without NULLs (compared on their first 40 bytes of
        UTF-8; a letter outside ASCII is two to four bytes, so two such letters swapped or
        mistyped count as more than one edit).

    Returns
    -------
    A boolean NumPy array, one value per row.

    Example
    -------
    >>> import pyarrow as pa
    >>> one_edit_apart(pa.array(["acme", "acme", "acme", "acme"]),
    ...                pa.array(["acne", "amce", "acm", "ace co"])).tolist()
    [True, True, True, False]
    """
    n = len(left)
    out = np.zeros(n, dtype=bool)
    for start in range(0, n, _BATCH):
        stop = min(start + _BATCH, n)
        a, la, b, lb = _pair_matrices(
            left.slice(start, stop - start), right.slice(start, stop - start)
        )
        out[start:stop] = _one_edit(a, la, b, lb)
    return out


def _without_legal_noise(names: pa.Array) -> pa.Array:
    """Names with a mistyped or glued legal form at the end taken off (for comparing).

    "beacon sonslimited" → "beacon sons"; "wallace tld" → "wallace"; "sterling engineerin
    gltd" → "sterling engineerin". A name that is nothing else keeps it.
    """
    # worked out once per distinct name (a record's name stands in each of its pairs)
    distinct = pc.unique(names)
    if len(distinct) < len(names):
        return _without_legal_noise(distinct).take(pc.index_in(names, value_set=distinct))
    forms = "|".join(sorted(_LEGAL_NOISE, key=len, reverse=True))
    glued = pc.replace_substring_regex(names, rf"^(.*[^\s]{{2}})(?:{forms})$", r"\1")
    words = pc.utf8_split_whitespace(glued)
    n_words = np.asarray(pc.list_value_length(words).to_numpy(zero_copy_only=False), np.int64)
    several = np.flatnonzero(n_words >= 2)
    if several.size == 0:
        return glued
    flat = words.flatten()
    ends = np.cumsum(n_words)
    last = flat.take(pa.array(ends[several] - 1))
    offsets, data = _bytes(last)
    longest = max(len(f) for f in _LEGAL_NOISE) + 1
    a, la = _matrix(offsets, data, longest)
    mistyped = np.zeros(len(several), dtype=bool)
    short = la <= longest  # a longer word is more than one edit from every form
    for form in _LEGAL_NOISE:
        code = np.zeros(longest, dtype=np.uint8)
        code[: len(form)] = np.frombuffer(form.encode(), dtype=np.uint8)
        b = np.broadcast_to(code, a.shape)
        lb = np.full(len(la), len(form))
        mistyped |= short & _one_edit(a, la, b, lb)
    drop = several[mistyped]
    if drop.size == 0:
        return glued
    cut = pc.replace_substring_regex(glued.take(pa.array(drop)), r"\s+[^\s]+$", "")
    mask = np.zeros(len(glued), dtype=bool)
    mask[drop] = True
    return pc.replace_with_mask(glued, pa.array(mask), cut)


def _words_match(left: pa.Array, right: pa.Array, min_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Where a left word is found in a right word, and a right word in a left one.

    A word is found in another one typed character away (the longer of the two has at
    least ``min_length`` letters), or when it abbreviates it: at least ``min_length``
    letters that start the other ("deli" in "delicatessen"; not the other way round, so
    "bradleycatering" is not found in "bradley").
    """
    n = len(left)
    in_right = np.zeros(n, dtype=bool)
    in_left = np.zeros(n, dtype=bool)
    for start in range(0, n, _BATCH):
        stop = min(start + _BATCH, n)
        a, la, b, lb = _pair_matrices(
            left.slice(start, stop - start), right.slice(start, stop - start)
        )
        edit = _one_edit(a, la, b, lb) & (np.maximum(la, lb) >= min_length)
        a_starts_b = ((a == b) | (a == 0)).all(axis=1) & (la >= min_length) & (la < lb)
        b_starts_a = ((a == b) | (b == 0)).all(axis=1) & (lb >= min_length) & (lb < la)
        in_right[start:stop] = edit | a_starts_b
        in_left[start:stop] = edit | b_starts_a
    return in_right, in_left


def _as_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values.cast(pa.string())


def _words_found(
    left: pa.Array, right: pa.Array, min_token_length: int, *, mutual: bool
) -> tuple[pa.Array, pa.Array, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split two name arrays into words and find each word in the other name of its pair.

    Returns the left and right words (flattened), the pair each word belongs to, and
    whether each was found. ``mutual``: two words that match as an abbreviation ("deli",
    "delicatessen") are both found; otherwise only the abbreviation is found in the other.
    """
    n = len(left)
    lw = pc.utf8_split_whitespace(left)
    rw = pc.utf8_split_whitespace(right)
    l_tok, r_tok = lw.flatten(), rw.flatten()
    l_pair = np.asarray(pc.list_parent_indices(lw).to_numpy(zero_copy_only=False), np.int64)
    r_pair = np.asarray(pc.list_parent_indices(rw).to_numpy(zero_copy_only=False), np.int64)
    n_r = np.asarray(pc.list_value_length(rw).to_numpy(zero_copy_only=False), np.int64)
    r_start = np.concatenate([[0], np.cumsum(n_r)[:-1]]).astype(np.int64) if n else n_r

    # every word of the left name against every word of the right name of the same pair
    per_left_word = n_r[l_pair]
    cross_l = np.repeat(np.arange(len(l_tok), dtype=np.int64), per_left_word)
    group_start = np.cumsum(per_left_word) - per_left_word
    offset = np.arange(len(cross_l), dtype=np.int64) - np.repeat(group_start, per_left_word)
    cross_r = r_start[l_pair[cross_l]] + offset

    tl = l_tok.take(pa.array(cross_l))
    tr = r_tok.take(pa.array(cross_r))
    same = np.asarray(pc.equal(tl, tr).to_numpy(zero_copy_only=False), dtype=bool)
    longer = np.maximum(
        np.asarray(pc.utf8_length(tl).to_numpy(zero_copy_only=False)),
        np.asarray(pc.utf8_length(tr).to_numpy(zero_copy_only=False)),
    )
    l_ok, r_ok = same.copy(), same.copy()
    fuzzy = ~same & (longer >= min_token_length)
    if fuzzy.any():
        idx = pa.array(np.flatnonzero(fuzzy))
        l_ok[fuzzy], r_ok[fuzzy] = _words_match(tl.take(idx), tr.take(idx), min_token_length)
    if mutual:
        l_ok = r_ok = l_ok | r_ok
    l_found = np.bincount(cross_l, weights=l_ok, minlength=len(l_tok)) > 0
    r_found = np.bincount(cross_r, weights=r_ok, minlength=len(r_tok)) > 0
    return l_tok, r_tok, l_pair, r_pair, l_found, r_found


def _light(words: pa.Array, light_words: Sequence[str], min_token_length: int) -> np.ndarray:
    """Which words are light: one of ``light_words``, or (both at least
    ``min_token_length`` letters) one typed character from one."""
    n = len(words)
    if not n or not light_words:
        return np.zeros(n, dtype=bool)
    # decided once per distinct word (names repeat their trade words many times over)
    distinct = pc.unique(words)
    vocab = pa.array(sorted(set(light_words)), pa.string())
    light = np.asarray(pc.is_in(distinct, value_set=vocab).to_numpy(zero_copy_only=False), bool)
    long_vocab = [w for w in vocab.to_pylist() if len(w) >= min_token_length]
    length = np.asarray(pc.utf8_length(distinct).to_numpy(zero_copy_only=False), np.int64)
    todo = np.flatnonzero(~light & (length >= min_token_length))
    if todo.size and long_vocab:
        cand = distinct.take(pa.array(np.repeat(todo, len(long_vocab))))
        against = pa.array(long_vocab * todo.size, pa.string())
        close = one_edit_apart(cand, against).reshape(todo.size, len(long_vocab)).any(axis=1)
        light[todo] = close
    at = np.asarray(pc.index_in(words, value_set=distinct).to_numpy(zero_copy_only=False))
    return light[at]


def _known(left: pa.Array, right: pa.Array) -> np.ndarray:
    known = pc.and_(
        pc.and_(pc.is_valid(left), pc.is_valid(right)),
        pc.and_(
            pc.greater(pc.utf8_length(pc.fill_null(left, "")), 0),
            pc.greater(pc.utf8_length(pc.fill_null(right, "")), 0),
        ),
    )
    return np.asarray(known.to_numpy(zero_copy_only=False), dtype=bool)


def _joined_agree(
    left: pa.Array, right: pa.Array, rows: np.ndarray, min_token_length: int
) -> np.ndarray:
    """For the given rows: the names written without spaces are the same, or (names long
    enough to tell a typo from a word) one typed character apart."""
    idx = pa.array(rows)
    joined_l = pc.replace_substring(left.take(idx), " ", "")
    joined_r = pc.replace_substring(right.take(idx), " ", "")
    same = np.asarray(pc.equal(joined_l, joined_r).to_numpy(zero_copy_only=False), bool)
    longer = np.maximum(
        np.asarray(pc.utf8_length(joined_l).to_numpy(zero_copy_only=False)),
        np.asarray(pc.utf8_length(joined_r).to_numpy(zero_copy_only=False)),
    )
    typo = one_edit_apart(joined_l, joined_r) & (longer >= 2 * min_token_length)
    return same | typo


def names_agree(
    left: pa.Array | pa.ChunkedArray,
    right: pa.Array | pa.ChunkedArray,
    *,
    min_token_length: int = 4,
) -> pa.Array:
    """Whether each pair of (normalised) company names agree, word by word.

    Parameters
    ----------
    left, right
        Names of the two records of each pair, already normalised (lower case, no legal
        form; ``name_core`` of :func:`tierwise.accounts.normalise_customers`).
    min_token_length
        Words shorter than this must be spelled the same; longer words may be one typed
        character apart, and a word at least this long may stand for a longer word it
        starts (``[accounts] name_token_min_length``).

    Returns
    -------
    A boolean array: true where every word of one name is found in the other (or the
    names without spaces are one typed character apart), false where each name has a word
    the other lacks, NULL where either name is missing.

    Example
    -------
    >>> import pyarrow as pa
    >>> names_agree(pa.array(["acme dental"]), pa.array(["acme dnetal"])).to_pylist()
    [True]
    """
    left, right = _as_array(left), _as_array(right)
    n = len(left)
    if len(right) != n:
        raise ValueError("names_agree needs two arrays of the same length")
    known_np = _known(left, right)
    left = _without_legal_noise(pc.fill_null(left, ""))
    right = _without_legal_noise(pc.fill_null(right, ""))
    _, _, l_pair, r_pair, l_found, r_found = _words_found(
        left, right, min_token_length, mutual=False
    )
    n_l = np.bincount(l_pair, minlength=n)
    n_r = np.bincount(r_pair, minlength=n)
    l_missing = np.bincount(l_pair, weights=~l_found, minlength=n)
    r_missing = np.bincount(r_pair, weights=~r_found, minlength=n)
    agree = ((l_missing == 0) & (n_l > 0)) | ((r_missing == 0) & (n_r > 0))

    # the names without spaces: "masonacme" is "mason acme" with a space left out
    rest = np.flatnonzero(known_np & ~agree)
    if rest.size:
        agree[rest] = _joined_agree(left, right, rest, min_token_length)
    return pa.array(agree, mask=~known_np)


def names_agree_wholly(
    left: pa.Array | pa.ChunkedArray,
    right: pa.Array | pa.ChunkedArray,
    *,
    min_token_length: int = 4,
    light_words: Sequence[str] = (),
) -> pa.Array:
    """Whether each pair of (normalised) company names agree as wholes.

    Stricter than :func:`names_agree`, which lets one name lack any of the other's words:
    here *every* word of *each* name must be found in the other (spelled the same, one
    typed character apart, or abbreviated, as in :func:`names_agree`), except light
    words — generic words and legal forms such as "group", "services", "sons", "ltd",
    also when mistyped ("sevrices", "internationa") — which either name may lack; or the
    names written without spaces must agree. "Bäcker Bau" and "Müller Becker Bau" agree
    in part (every word of the first is in the second) but not as wholes: "Müller" is
    found nowhere in the first, and a trade word such as "Bau", shared by many companies,
    is not enough to make up for it. This is the test of the deterministic rules, which
    merge without a model weighing the evidence.

    Parameters
    ----------
    left, right
        Normalised names (``name_norm`` of :func:`tierwise.accounts.normalise_customers`).
    min_token_length
        As in :func:`names_agree`; also the shortest word that may be a mistyped light
        word (``[accounts] name_token_min_length``).
    light_words
        Words either name may lack, as normalised names spell them.

    Returns
    -------
    A boolean array, NULL where either name is missing.

    Example
    -------
    >>> import pyarrow as pa
    >>> names_agree_wholly(
    ...     pa.array(["backer bau", "acme", "acme"]),
    ...     pa.array(["muller becker bau", "acme sevrices", "acme dental"]),
    ...     light_words=["services"],
    ... ).to_pylist()
    [False, True, False]
    """
    left, right = _as_array(left), _as_array(right)
    n = len(left)
    if len(right) != n:
        raise ValueError("names_agree_wholly needs two arrays of the same length")
    known_np = _known(left, right)
    left = _without_legal_noise(pc.fill_null(left, ""))
    right = _without_legal_noise(pc.fill_null(right, ""))
    l_tok, r_tok, l_pair, r_pair, l_found, r_found = _words_found(
        left, right, min_token_length, mutual=True
    )
    l_light = np.zeros(len(l_tok), dtype=bool)
    r_light = np.zeros(len(r_tok), dtype=bool)
    l_rest, r_rest = np.flatnonzero(~l_found), np.flatnonzero(~r_found)
    if l_rest.size:
        l_light[l_rest] = _light(l_tok.take(pa.array(l_rest)), light_words, min_token_length)
    if r_rest.size:
        r_light[r_rest] = _light(r_tok.take(pa.array(r_rest)), light_words, min_token_length)
    l_missing = np.bincount(l_pair, weights=~l_found & ~l_light, minlength=n)
    r_missing = np.bincount(r_pair, weights=~r_found & ~r_light, minlength=n)
    matched = np.bincount(l_pair, weights=l_found, minlength=n) > 0
    agree = known_np & matched & (l_missing == 0) & (r_missing == 0)

    rest = np.flatnonzero(known_np & ~agree)
    if rest.size:
        agree[rest] = _joined_agree(left, right, rest, min_token_length)
    return pa.array(agree, mask=~known_np)


def typos_apart(left: str, right: str, limit: int) -> bool:
    """Whether two texts are at most ``limit`` typed characters apart (a letter wrong,
    missing, extra, or two neighbours swapped: Damerau-Levenshtein, optimal string
    alignment), for a few texts at a time (a band of the edit-distance table, in Python).

    Two names each one typo from a third ("landcsapes" and "ladscapes" from "landscapes")
    are two apart.

    Example
    -------
    >>> typos_apart("bramley landcsapes", "bramley ladscapes", 2)
    True
    >>> typos_apart("acme dental", "acme maintenance", 2)
    False
    """
    a, b = left, right
    if abs(len(a) - len(b)) > limit:
        return False
    big = limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [big] * len(b)
        lo, hi = max(1, i - limit), min(len(b), i + limit)
        for j in range(lo, hi + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d = min(d, prev2[j - 2] + 1)
            cur[j] = min(d, big)
        if min(cur[max(0, lo - 1) : hi + 1]) > limit:
            return False
        prev2, prev = prev, cur
    return prev[len(b)] <= limit
