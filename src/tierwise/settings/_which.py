"""Which input each of a user's files is, for ``tierwise init FILE…`` and ``tierwise init DIR``.

A user with a folder of exports gives them all at once. Each file (each sheet of a workbook)
is read as a sample and its columns guessed as every input (:func:`guess_table`); a file
*fits* an input when every required column of it is found. Its name counts too: a file
named ``customers.xlsx``, ``Kundenliste.csv`` or ``visits_2024.csv`` names its input.

The files are then given to the inputs so that the named and fitting pairs come first, then
the surest guesses (:func:`scipy.optimize.linear_sum_assignment` on the scores below). Each
input takes one file. Two files that fit the same input as well as each other (invoices of
2023 and of 2024, two customer lists) stop init with a line naming both: tierwise reads one
file per input (or a folder or glob of Parquet files), and which one is meant, or how to
combine them, is the user's to say.

A list of companies fits both the customers and the prospects: it is taken for the
prospects only when its name says so (``prospects``, ``leads``). A list of customers has one
row per customer: a file whose customer ids repeat is no customer master.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, SettingsError
from ..schema import TABLES
from ._guess import TableGuess, guess_table

__all__ = ["Sorted", "sort_files"]

#: file kinds a folder's files are read as (others are left out, and counted)
_KINDS = frozenset(
    {".csv", ".tsv", ".txt", ".tab", ".xlsx", ".xlsm", ".xls", ".parquet", ".duckdb"}
)
#: at most this many files of a folder are looked at
_MAX_FILES = 60

#: the beginnings of words in a file's (or sheet's) name that name an input, in the languages
#: exports are written in (as :func:`_name_words` folds them)
_NAME_WORDS: dict[str, tuple[str, ...]] = {
    "transactions": (
        "invoice", "rechnung", "factur", "faktur", "fattur", "sale", "transaction", "order",
        "umsatz", "umsaetz", "verkauf", "vente", "venta", "vendit", "orderline", "auftrag",
        "bestellung", "ausgangsrechnung", "commande", "pedido", "omzet", "verkoop", "journal",
        "beleg", "revenue", "fec", "deal", "opportunit",
    ),
    "customers": (
        "customer", "client", "kunde", "account", "accounts", "compan", "debitor", "debtor",
        "klant", "organi", "firm", "buyer",
    ),
    "prospects": ("prospect", "lead", "interessent", "suspect"),
    "activities": (
        "activit", "aktivit", "visit", "besuch", "call", "anruf", "meeting", "termin", "task",
        "event", "engagement", "interaction", "appointment", "appel", "visite", "touch",
    ),
    "payments": (
        "payment", "receivabl", "zahlung", "paiement", "pago", "pagament", "betaling",
        "aging", "ageing", "remittanc", "offenepost", "openitem", "debitorenbuch",
    ),
    "reps": (
        "rep", "reps", "salespe", "team", "teams", "staff", "employee", "user", "users",
        "mitarbeiter",
        "vertreter", "aussendienst", "commercia", "vendedor", "agent", "territor",
    ),
    "market": ("market", "markt", "marche", "mercado", "industr", "sector", "branche"),
}  # fmt: skip
#: words matched whole, not as beginnings (``rep`` is no beginning of ``report``)
_WHOLE = frozenset({"rep", "reps", "user", "users", "team", "teams", "account", "accounts", "fec"})
#: the share of a sample's customer ids that must differ for a list of customers
_UNIQUE = 0.95


@dataclass(frozen=True)
class Sorted:
    """The files given to ``tierwise init`` sorted into inputs."""

    #: input name → path
    inputs: dict[str, str]
    #: input name → the sheet of a workbook chosen for it
    sheets: dict[str, str]
    #: input name → why the file was taken for it, in a few words
    why: dict[str, str]
    #: files (or sheets) taken for no input, each with why
    left_out: tuple[str, ...]


@dataclass(frozen=True)
class _Candidate:
    path: str
    sheet: str | None
    #: the path as the user gave it, or the folder's file name
    shown: str
    #: whether the user named it (not a file found in a folder)
    named: bool


def _name_words(text: str) -> list[str]:
    """The words of a file's (or sheet's) name: folded, split at anything not a letter and
    where a lower-case letter meets a capital, with the whole name in one word after them
    (``customerlist``, ``Offene Posten``)."""
    import unicodedata

    stem = Path(text).name
    for suffix in (".gz", ".zip", ".bz2", ".xz", ".zst"):
        stem = stem.removesuffix(suffix)
    stem = Path(stem).stem if Path(stem).suffix.lower() in _KINDS else stem
    stem = re.sub(r"([a-z])([A-Z])", r"\1 \2", stem)
    folded = unicodedata.normalize("NFKD", stem.casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    found = re.findall(r"[^\W\d_]+", folded)
    return [*found, "".join(found)] if len(found) > 1 else found


def named_inputs(name: str) -> set[str]:
    """The inputs a file's (or sheet's) name names.

    Examples
    --------
    >>> sorted(named_inputs("Kundenliste_2024.xlsx")), sorted(named_inputs("sales_reps.csv"))
    (['customers'], ['reps'])
    >>> sorted(named_inputs("report.csv")), sorted(named_inputs("Sales Activities.xlsx"))
    ([], ['activities'])
    """
    found: set[str] = set()
    for w in _name_words(name):
        for table, starts in _NAME_WORDS.items():
            if any(w == s if s in _WHOLE else w.startswith(s) for s in starts):
                found.add(table)
    broad = {"transactions", "customers"}
    if found - broad:
        # a name of two inputs' words (sales reps, sales activities, customer payments): the
        # more particular one, sales and customers being said of everything; a name of sales
        # and customers both (Sales by Customer Detail) is left to the columns
        found -= broad
    return found


def _candidates(paths: Sequence[str | Path]) -> tuple[list[_Candidate], list[str]]:
    """The files (and workbook sheets) to sort, and what was left out of the folders."""
    from ..io.sample import sheet_names

    out: list[_Candidate] = []
    left: list[str] = []
    for given in paths:
        p = Path(given)
        text = str(given)
        if any(ch in text for ch in "*?[") and not p.exists():
            out.append(_Candidate(text, None, text, True))  # a glob of Parquet files
            continue
        if not p.exists():
            raise InputError("no such file or folder", file=text, hint="check the path given")
        if p.is_dir() and not _parquet_folder(p):
            files = sorted(f for f in p.iterdir() if f.is_file() and not _hidden(f))
            kinds = [f for f in files if _kind(f) in _KINDS and f.name != "tierwise.toml"]
            # settings files are no exports (tierwise.toml, written beside them)
            others = [f.name for f in files if f not in kinds and _kind(f) != ".toml"]
            if others:
                shown = ", ".join(others[:3]) + (", …" if len(others) > 3 else "")
                files_of = "a file" if len(others) == 1 else f"{len(others)} files"
                left.append(f"{text}: {files_of} of another kind left out ({shown})")
            if len(kinds) > _MAX_FILES:
                raise InputError(
                    f"{len(kinds)} files in the folder, more than init looks at ({_MAX_FILES})",
                    file=text,
                    hint="give the files of each input (init --transactions FILE …)",
                )
            out += [_Candidate(str(f), None, str(f), False) for f in kinds]
            continue
        out.append(_Candidate(text, None, text, True))
    sheeted: list[_Candidate] = []
    for c in out:
        kind = _kind(Path(c.path))
        sheets = sheet_names(c.path) if kind in (".xlsx", ".xlsm") else []
        if len(sheets) > 1:
            sheeted += [_Candidate(c.path, s, f"{c.shown}, sheet {s!r}", c.named) for s in sheets]
        else:
            sheeted.append(c)
    return sheeted, left


def _kind(p: Path) -> str:
    suffixes = [s.lower() for s in p.suffixes]
    while suffixes and suffixes[-1] in (".gz", ".zip", ".bz2", ".xz", ".zst"):
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def _hidden(p: Path) -> bool:
    # hidden files, Excel's lock files (~$Book.xlsx) and Spark's markers (_SUCCESS)
    return p.name.startswith((".", "~$", "_"))


def _parquet_folder(p: Path) -> bool:
    """Whether a folder is one input: Parquet files, or partition folders (``year=2024``)."""
    entries = [e for e in p.iterdir() if not _hidden(e)]
    if not entries:
        return False
    return all(
        (e.is_file() and _kind(e) == ".parquet") or (e.is_dir() and "=" in e.name) for e in entries
    )


def _fits(table: str, g: TableGuess, sample_ids: list[object] | None) -> bool:
    """Whether every required column of ``table`` was found (and, for a list of companies,
    its ids are one a row; for the market figures, a size by industry or region)."""
    if g.missing:
        return False
    if table == "market":
        have = {c.canonical for c in g.columns}
        return "market_size" in have and bool(have & {"industry", "region"})
    if table in ("customers", "prospects") and sample_ids is not None:
        filled = [v for v in sample_ids if v not in (None, "")]
        return bool(filled) and len(set(filled)) >= _UNIQUE * len(filled)
    return True


def _strength(g: TableGuess) -> float:
    """How well the file's columns are explained: the guesses' confidence less half a point
    for each column left out, within ±99."""
    value = sum(c.confidence for c in g.columns) - 0.5 * len(g.unmapped)
    return max(-99.0, min(99.0, value))


def sort_files(
    paths: Sequence[str | Path], given: Mapping[str, str | Path] | None = None
) -> Sorted:
    """Sort ``paths`` (files, folders of files, workbooks of several sheets) into the inputs
    not already ``given``.

    Raises
    ------
    InputError
        A path that does not exist, a file the user named that cannot be read.
    SettingsError
        Two files fit one input as well as each other, or a file named fits no input.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "export1.csv").write_text("Kunde;Datum;Umsatz\\nK1;02.01.2024;10,5\\n"
    ...                                    "K1;03.01.2024;7\\nK2;03.01.2024;4\\n")
    >>> _ = (d / "kunden.csv").write_text("Kunde;Name;Ort\\nK1;Alpha GmbH;Köln\\n"
    ...                                   "K2;Beta AG;Bonn\\n")
    >>> s = sort_files([d])
    >>> {k: pathlib.Path(v).name for k, v in s.inputs.items()}
    {'transactions': 'export1.csv', 'customers': 'kunden.csv'}
    """
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    from ..io.sample import read_sample
    from . import INPUT_TABLES
    from .inputs import TableInput

    named = {k: str(v) for k, v in (given or {}).items()}
    candidates, left = _candidates(paths)
    mine = {str(Path(v).resolve()) for v in named.values() if "://" not in v}
    candidates = [
        c for c in candidates if "://" in c.path or str(Path(c.path).resolve()) not in mine
    ]
    tables = [t for t in INPUT_TABLES if t not in named]
    guesses: dict[tuple[int, str], TableGuess] = {}
    fits: dict[tuple[int, str], bool] = {}
    hints: dict[int, set[str]] = {}
    kept: list[_Candidate] = []
    for c in candidates:
        try:
            sample = read_sample(c.path, TableInput(sheet=c.sheet) if c.sheet else None)
        except InputError as exc:
            if c.named and c.sheet is None:
                raise
            left.append(f"{c.shown}: not read ({exc.message})")
            continue
        i = len(kept)
        kept.append(c)
        hints[i] = named_inputs(c.path) | (named_inputs(c.sheet) if c.sheet else set())
        for t in tables:
            g = guess_table(t, sample)
            ids = None
            if t in ("customers", "prospects"):
                cid = g.guessed("customer_id")
                if cid is not None and cid.source in sample.table.column_names:
                    ids = sample.table.column(cid.source).to_pylist()
            guesses[i, t] = g
            fits[i, t] = _fits(t, g, ids)

    def allowed(i: int, t: str) -> bool:
        if t in hints[i]:
            # named so: taken unless it holds none of the input's required columns
            required = [c.name for c in TABLES[t].columns if c.required]
            return not required or len(guesses[i, t].missing) < len(required)
        # the prospects and the market figures only by their name or a fit of their own
        return fits[i, t] and t != "prospects"

    def score(i: int, t: str) -> float:
        return 1000.0 * (t in hints[i]) + 200.0 * fits[i, t] + _strength(guesses[i, t])

    chosen: dict[str, int] = {}
    if kept and tables:
        worst = -1e9
        matrix = np.array(
            [[score(i, t) if allowed(i, t) else worst for t in tables] for i in range(len(kept))]
        )
        rows, cols = linear_sum_assignment(matrix, maximize=True)
        chosen = {
            tables[c]: int(r) for r, c in zip(rows, cols, strict=True) if matrix[r, c] > worst
        }
    # a file as good for an input as the one taken: which one is meant is the user's to say
    for t, i in chosen.items():
        for j in range(len(kept)):
            if j == i or j in chosen.values() or not allowed(j, t):
                continue
            same_file = kept[j].path == kept[i].path
            if (t in hints[j]) == (t in hints[i]) and fits[j, t] == fits[i, t] and not same_file:
                raise SettingsError(
                    f"{kept[i].shown} and {kept[j].shown} both look like the {t}: tierwise "
                    "reads one file per input (or a folder or glob of Parquet files); combine "
                    f"them into one, or name the one to read with --{t} FILE"
                )
    taken_files = {kept[i].path for i in chosen.values()}
    for j, c in enumerate(kept):
        if j in chosen.values():
            continue
        if c.sheet is not None and c.path in taken_files:
            continue  # another sheet of a workbook that was read
        near = [t for t in tables if allowed(j, t)]
        if near:
            why = f"it fits the {' or the '.join(near)}, which another file was taken for"
        else:
            why = _nearest(j, tables, guesses)
        if c.named and c.sheet is None and not near:
            raise SettingsError(
                f"{c.shown}: {why}; name its input with --transactions, --customers, … "
                "and map its columns in the settings file"
            )
        left.append(f"{c.shown}: not read ({why})")
    inputs = {t: kept[i].path for t, i in chosen.items()}
    sheets = {t: s for t, i in chosen.items() if (s := kept[i].sheet) is not None}
    whys = {t: _why(t, i, hints, fits) for t, i in chosen.items()}
    order = {t: n for n, t in enumerate(INPUT_TABLES)}
    return Sorted(
        dict(sorted(inputs.items(), key=lambda kv: order[kv[0]])),
        sheets,
        dict(sorted(whys.items(), key=lambda kv: order[kv[0]])),
        tuple(left),
    )


def _nearest(i: int, tables: Sequence[str], guesses: Mapping[tuple[int, str], TableGuess]) -> str:
    """Why a file fits no input: the input it comes nearest to and what it lacks, where it
    holds some of that input's required columns."""
    with_required = [t for t in tables if any(c.required for c in TABLES[t].columns)]
    if not with_required:
        return "its columns fit no input"
    best = min(with_required, key=lambda t: (len(guesses[i, t].missing), -_strength(guesses[i, t])))
    lacking = [c for c, _ in guesses[i, best].missing]
    required = [c.name for c in TABLES[best].columns if c.required]
    if not lacking or len(lacking) == len(required):
        return "its columns fit no input"
    return f"its columns fit no input; nearest are the {best}, lacking {', '.join(lacking)}"


def _why(
    t: str, i: int, hints: Mapping[int, set[str]], fits: Mapping[tuple[int, str], bool]
) -> str:
    if t in hints[i] and fits[i, t]:
        return "by its name and its columns"
    if t in hints[i]:
        return "by its name; some required columns are not found"
    return "by its columns"
