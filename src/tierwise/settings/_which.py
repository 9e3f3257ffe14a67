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
        "mitarbeiter", "vertreter", "aussendienst", "commerciaux", "vendedor", "agent",
        "territor",
    ),
    "market": (
        "market", "markets", "markt", "marktdaten", "marche", "marches", "mercado", "industry",
        "industries", "sector", "sectors", "branchen",
    ),
}  # fmt: skip
#: words matched whole, not as beginnings (``rep`` is no beginning of ``report``)
_WHOLE = frozenset(
    {
        "rep", "reps", "user", "users", "team", "teams", "account", "accounts", "fec",
        "commerciaux", "market", "markets", "markt", "marktdaten", "marche", "marches",
        "mercado", "industry", "industries", "sector", "sectors", "branchen",
    }
)  # fmt: skip
#: words that begin as an input's word does but name something else (``sale`` and
#: Salesforce, ``termin`` and terminated, ``deal`` and dealer)
_NOT = ("salesforce", "terminat", "dealer", "eventual", "callback")
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
            if w.startswith(_NOT):
                continue
            if any(w == s if s in _WHOLE else w.startswith(s) for s in starts):
                found.add(table)
    # a name of two inputs' words is the more particular one's: sales are said of
    # everything (sales reps, sales activities), customers of their payments, visits and
    # prospects; a name of sales and customers both (Sales by Customer Detail) is left to
    # the columns, and so is one of customers and the market (Customers by industry)
    if found - {"transactions", "customers"}:
        found.discard("transactions")
    if found & {"activities", "payments", "prospects"}:
        found.discard("customers")
    return found


def _candidates(paths: Sequence[str | Path]) -> tuple[list[_Candidate], list[str]]:
    """The files (and workbook sheets) to sort, each once however it was spelled, and what
    was left out of the folders."""
    from ..io.sample import sheet_names

    out: list[_Candidate] = []
    left: list[str] = []
    seen: set[str] = set()

    def add(c: _Candidate) -> None:
        key = (
            c.path if "://" in c.path or not Path(c.path).exists() else str(Path(c.path).resolve())
        )
        if key not in seen:
            seen.add(key)
            out.append(c)

    for given in paths:
        p = Path(given)
        text = str(given)
        if any(ch in text for ch in "*?[") and not p.exists():
            add(_Candidate(text, None, text, True))  # a glob of Parquet files
            continue
        if not p.exists():
            raise InputError("no such file or folder", file=text, hint="check the path given")
        if not p.is_dir() or _parquet_folder(p):
            add(_Candidate(text, None, text, True))
            continue
        entries = sorted(e for e in p.iterdir() if not _hidden(e))
        files = [f for f in entries if f.is_file()]
        kinds = [f for f in files if _kind(f) in _KINDS]
        # settings files are no exports (tierwise.toml, written beside them)
        others = [f.name for f in files if f not in kinds and _kind(f) != ".toml"]
        lakes = [d for d in entries if d.is_dir() and _parquet_folder(d)]
        folders = [d.name for d in entries if d.is_dir() and d not in lakes]
        if others:
            shown = ", ".join(others[:3]) + (", …" if len(others) > 3 else "")
            files_of = "a file" if len(others) == 1 else f"{len(others)} files"
            zipped = any(_kind(Path(o)) == "" and o.lower().endswith(".zip") for o in others)
            unzip = "; unzip an archive of several files first" if zipped else ""
            left.append(f"{text}: {files_of} of another kind left out ({shown}){unzip}")
        if folders:
            shown = ", ".join(map(repr, folders[:3])) + (", …" if len(folders) > 3 else "")
            which = "folder" if len(folders) == 1 else "folders"
            left.append(f"{text}: {which} {shown} not looked in (give a folder's files)")
        if len(kinds) + len(lakes) > _MAX_FILES:
            raise InputError(
                f"{len(kinds)} files in the folder, more than init looks at ({_MAX_FILES})",
                file=text,
                hint="give the files of each input (init --transactions FILE …)",
            )
        for f in [*kinds, *lakes]:
            add(_Candidate(str(f), None, str(f), False))
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


#: columns of a customer master beyond its id and figures: a file of ids and totals (a
#: report of revenue by customer) is no list of customers
_DESCRIBING = frozenset(
    {
        "name", "address", "postcode", "city", "country", "lat", "lon", "industry", "region",
        "rep_id", "current_channel", "created_date", "parent_id", "tax_id", "phone", "email",
    }
)  # fmt: skip


def _misfit(table: str, g: TableGuess, sample_ids: list[object] | None) -> str | None:
    """Why the file does not fit ``table``, or ``None`` where it does: every required column
    found (for a list of companies, its ids one a row and a column describing them; for the
    market figures, a size by industry or region)."""
    if g.missing:
        return f"lacking {', '.join(c for c, _ in g.missing)}"
    have = {c.canonical for c in g.columns}
    if table == "market":
        if "market_size" in have and have & {"industry", "region"}:
            return None
        return "lacking market_size by industry or region"
    if table in ("customers", "prospects"):
        filled = [v for v in sample_ids or () if v not in (None, "")]
        if not filled or len(set(filled)) < _UNIQUE * len(filled):
            return "its customer ids repeat, where a list of companies has one row each"
        if not have & _DESCRIBING:
            return "it holds no name, place or other column describing the companies"
    return None


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

    A file is taken for an input it fits before one only named like it; a file named like
    an input it does not fit is taken for it only where no file fits it (the section then
    says what is missing). The prospects and the market figures are taken only where a file
    fits them, the prospects only by their name too.

    Raises
    ------
    InputError
        A path that does not exist, a file the user named that cannot be read.
    SettingsError
        Two files (or sheets) fit one input as well as each other, a file named fits no
        input, or no file given fits one.

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
    misfit: dict[tuple[int, str], str | None] = {}
    strength: dict[tuple[int, str], float] = {}
    some: dict[tuple[int, str], bool] = {}
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
        # a sheet is named by its own name, else by its workbook's
        hints[i] = (named_inputs(c.sheet) if c.sheet else set()) or named_inputs(c.path)
        for t in INPUT_TABLES:
            g = guess_table(t, sample)
            ids = None
            if t in ("customers", "prospects"):
                cid = g.guessed("customer_id")
                if cid is not None and cid.source in sample.table.column_names:
                    ids = sample.table.column(cid.source).to_pylist()
            misfit[i, t] = _misfit(t, g, ids)
            strength[i, t] = _strength(g)
            required = [col.name for col in TABLES[t].columns if col.required]
            some[i, t] = len(g.missing) < len(required)

    def fits(i: int, t: str) -> bool:
        return misfit[i, t] is None and (t != "prospects" or t in hints[i])

    def allowed(i: int, t: str) -> bool:
        # named like the input and holding some of its required columns: taken where no
        # file fits it (the market figures and the prospects only by a fit of their own)
        return fits(i, t) or (t in hints[i] and some[i, t] and t not in ("market", "prospects"))

    def score(i: int, t: str) -> float:
        named_so = t in hints[i]
        return 1000.0 * (named_so and fits(i, t)) + 200.0 * fits(i, t) + strength[i, t]

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
    taken = set(chosen.values())
    # a file as good for an input as the one taken: which one is meant is the user's to say
    for t, i in chosen.items():
        for j in range(len(kept)):
            if j in taken or not fits(j, t) or not fits(i, t):
                continue
            if (t in hints[j]) == (t in hints[i]):
                which = (
                    f"combine them into one sheet, or set [{t}] sheet to the one to read"
                    if kept[i].path == kept[j].path
                    else f"combine them into one, or name the one to read with --{t} FILE"
                )
                raise SettingsError(
                    f"{kept[i].shown} and {kept[j].shown} both look like the {t}: tierwise "
                    f"reads one file per input (or a folder or glob of Parquet files); {which}"
                )
    read_files = {kept[i].path for i in taken}
    for j, c in enumerate(kept):
        if j in taken:
            continue
        fitting = [t for t in INPUT_TABLES if fits(j, t)]
        if c.sheet is not None and c.path in read_files and not fitting:
            continue  # a sheet of notes or a pivot beside the sheets read
        why = _left_why(j, fitting, named, hints[j], misfit)
        if c.named and c.sheet is None and not fitting and not hints[j]:
            raise SettingsError(
                f"{c.shown}: {why}; name its input with --transactions, --customers, … "
                "and map its columns in the settings file"
            )
        left.append(f"{c.shown}: not read ({why})")
    if not chosen and not named:
        shown = f" ({'; '.join(left[:5])})" if left else ""
        raise SettingsError(
            f"no file given fits an input{shown}; give the invoice lines with --transactions FILE"
        )
    inputs = {t: kept[i].path for t, i in chosen.items()}
    sheets = {t: s for t, i in chosen.items() if (s := kept[i].sheet) is not None}
    whys = {t: _why(t in hints[i], fits(i, t), misfit[i, t]) for t, i in chosen.items()}
    order = {t: n for n, t in enumerate(INPUT_TABLES)}
    return Sorted(
        dict(sorted(inputs.items(), key=lambda kv: order[kv[0]])),
        sheets,
        dict(sorted(whys.items(), key=lambda kv: order[kv[0]])),
        tuple(left),
    )


def _left_why(
    j: int,
    fitting: Sequence[str],
    named: Mapping[str, str],
    hints: set[str],
    misfit: Mapping[tuple[int, str], str | None],
) -> str:
    """Why a file was taken for no input."""
    if fitting:
        t = fitting[0]
        if t in named:
            return f"it fits the {t}, given with --{t}"
        why = f"it fits the {t}, which another file was taken for"
        if t == "customers":
            why += "; give it with --prospects if it lists companies that have not bought yet"
        return why
    if hints:
        t = sorted(hints)[0]
        return f"named like the {t}, but {misfit[j, t]}"
    return "its columns fit no input"


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


def _why(named_so: bool, fit: bool, misfit: str | None) -> str:
    """Why a file was taken for its input, in a few words."""
    if named_so and fit:
        return "by its name and its columns"
    if named_so:
        return f"by its name, though {misfit}"
    return "by its columns"
