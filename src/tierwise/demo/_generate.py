"""The demo generator: a synthetic B2B distributor with planted truths.

Everything is vectorised over companies, orders and lines with NumPy; the only Python loops
run over a handful of categories, industries, regions or digit positions, and over pieces of
a few hundred thousand rows.

:class:`_Generator` draws what is decided per company, record, order and activity; the
invoice lines, credit notes, payments and activities are made from that in pieces
(:mod:`tierwise.demo._pieces`), so a large demo is written without holding those tables
(:func:`generate_stream`), and :func:`generate` assembles the same tables in memory. The
per-line and per-activity draws come from streams of their own, each starting at the state
the main stream had where the draws were made in one go (the main stream is then moved past
them), so the data is the same as drawn in one go, whatever the piece size.

The buying process is BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy
way"): while alive a company orders as a Poisson process with rate λ ~ Gamma(r, α) (scaled
by its yearly spend to a power), and after every order it drops out with probability
p ~ Beta(a, b). Its yearly spend (share of wallet × wallet) is orders × mean order value, so
the order value takes the rest of the spend; frequency and order value come out nearly
uncorrelated, as the Gamma-Gamma spend model assumes. The number of
orders before death is therefore D ~ Geometric(p) and, given K Poisson events in the window,
a company keeps the first min(K, D) of them. Event times are the first m order statistics of
K uniforms, drawn without sorting as S_j / S_{K+1} with S the cumulative sums of unit
exponentials (S_{K+1} = S_m + Gamma(K + 1 - m)).

What a company spends per year while alive answers to its sales contacts: the legacy
coverage (channel, rep, visits, calls and e-mails per year, set by habit rather than value)
gives an effort, and the company's CALLPLAN response (:mod:`tierwise.demo._response`) turns
it into its share of wallet. The history's second half runs at the legacy rates, the first
at a per-company multiple of them, and the order values follow the response at the effort of
their half (the order counts follow BG/NBD as above). Coverage, reps and response draw from
their own random stream.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ValidationError

from ..errors import SettingsError
from ..settings.demo import DemoSettings
from . import _words as W
from ._baskets import planted_pairs
from ._buildings import plant_shared_buildings
from ._pieces import (
    ACTIVITY_TYPES,
    PIECE_ROWS,
    Activities,
    Piece,
    Sales,
    assemble,
    dates,
    day_order,
    floats,
)
from ._response import (
    CAPACITY_USE,
    MINUTES_PER_CONTACT,
    SALT,
    TRAVEL_MINUTES_PER_KM,
    coverage_truth,
    draw_prospect_response,
    draw_response,
    effort,
    response_share,
)
from ._strings import fixed_ids, int_strings, join, pick, take_fixed, typos

__all__ = [
    "DEMO_TABLES",
    "STREAMED_TABLES",
    "DemoData",
    "DemoStream",
    "generate",
    "generate_stream",
]

_EPOCH = dt.date(1970, 1, 1)
_DAYS_PER_YEAR = 365.25
_REGION_NAMES = list(W.REGIONS)
_INDUSTRY_NAMES = list(W.INDUSTRIES)
_CATEGORY_NAMES = list(W.CATEGORIES)
_CITIES = [c for r in W.REGIONS.values() for c in r[2]]
_CITY_REGION = np.array([i for i, r in enumerate(W.REGIONS.values()) for _ in r[2]], dtype=np.int16)
_CHANNELS = ["field", "inside", "key_account", "web"]
_ROLES = ["field", "inside", "key_account"]


@dataclass(frozen=True)
class DemoData:
    """A generated demo dataset: the input tables of a run plus the planted truth.

    Attributes
    ----------
    customers, transactions, activities, payments, prospects, reps, products, market
        Input tables with the canonical column names of :mod:`tierwise.schema`
        (``products`` is extra: product_id, product_category, list_price, unit_cost).
    truth
        One row per customer record and per prospect: customer_id, company_id (records of
        the same true company share it), is_prospect, true_wallet (yearly spend capacity in
        our categories, currency units), true_share_of_wallet, true_alive (at end_date),
        true_purchase_rate (orders per year while alive), true_dropout_prob (per order),
        true_death_date (null while alive), costly, late_payer, building_id (companies
        sharing a building's address: see ``_buildings``); the response to contact
        (:mod:`tierwise.demo._response`): true_s0, true_s1, true_c, true_d,
        true_margin_rate (expected gross margin over net revenue), the legacy contact
        rates legacy_visits_per_year, legacy_calls_per_year, legacy_emails_per_year (those
        of the history's second half, from ``truth_coverage["legacy_from"]``) and
        early_effort_factor (contacts before then ran at this multiple of the legacy
        rates). true_share_of_wallet is the response's share at the legacy effort.
        Company-level truths repeat on every record of the company; prospects have null
        alive/rate/dropout/early factor, no legacy contacts and s0 = 0.
    end_date, seed
        The last day of the history and the seed it was generated with.
    truth_coverage
        The channels' effectiveness, cost and minutes per contact and the travel minutes
        per km the response and the legacy coverage used (``truth_coverage.json``).
    """

    customers: pa.Table
    transactions: pa.Table
    activities: pa.Table
    payments: pa.Table
    prospects: pa.Table
    reps: pa.Table
    products: pa.Table
    market: pa.Table
    truth: pa.Table
    end_date: dt.date
    seed: int
    truth_coverage: dict[str, Any]

    @property
    def planted_pairs(self) -> pa.Table:
        """The products planted as bought together (see :mod:`tierwise.demo._baskets`)."""
        return planted_pairs(self.products)

    def tables(self) -> dict[str, pa.Table]:
        """The tables by name, in the order of :data:`DEMO_TABLES`."""
        return {name: getattr(self, name) for name in DEMO_TABLES}


#: The demo's tables in the order they are listed and written: the input tables, then
#: ``truth``.
DEMO_TABLES = (
    "transactions",
    "customers",
    "activities",
    "payments",
    "prospects",
    "reps",
    "products",
    "market",
    "truth",
)

#: The tables :class:`DemoStream` makes in pieces; their rows grow with transactions.
STREAMED_TABLES = ("transactions", "activities", "payments")


@dataclass(frozen=True)
class DemoStream:
    """A generated demo dataset whose transaction-sized tables are made in pieces.

    The tables of customer size (customers, prospects, reps, products, market, truth) are
    held whole, as in :class:`DemoData`; ``transactions``, ``activities`` and ``payments``
    come from :meth:`pieces`, some hundred thousand rows at a time, so that writing them
    (:func:`tierwise.io.demo_files.write_demo`) never holds them whole. :meth:`collect`
    gives the :class:`DemoData` of :func:`generate`: the same tables, whatever the piece
    size.

    Example
    -------
    >>> stream = generate_stream(n_customers=200, seed=1)
    >>> sorted({name for name, _, _ in stream.pieces(rows=1000)})
    ['activities', 'payments', 'transactions']
    >>> stream.collect().transactions.equals(generate(n_customers=200, seed=1).transactions)
    True
    """

    customers: pa.Table
    prospects: pa.Table
    reps: pa.Table
    products: pa.Table
    market: pa.Table
    truth: pa.Table
    end_date: dt.date
    seed: int
    truth_coverage: dict[str, Any]
    sales_plan: Sales = field(repr=False)
    activity_plan: Activities = field(repr=False)

    @property
    def planted_pairs(self) -> pa.Table:
        """The products planted as bought together (see :mod:`tierwise.demo._baskets`)."""
        return planted_pairs(self.products)

    def held_tables(self) -> dict[str, pa.Table]:
        """The tables held whole, by name (all but :data:`STREAMED_TABLES`)."""
        return {name: getattr(self, name) for name in DEMO_TABLES if name not in STREAMED_TABLES}

    def pieces(self, rows: int = PIECE_ROWS) -> Iterator[Piece]:
        """The rows of :data:`STREAMED_TABLES` as ``(table name, segment, Arrow table)``,
        each piece about ``rows`` rows (whole orders for the invoice lines and payments);
        the pieces of one table and segment follow each
        other in table order, those of different tables are interleaved (the payments
        come with their orders' lines). A table's segments follow each other; the
        ``transactions`` hold the sales lines (segment 0), then the credit notes
        (segment 1). Every table and segment has at least one piece (maybe empty).
        Each call makes the same pieces again."""
        if rows < 1:
            raise ValueError(f"rows must be at least 1, got {rows}")
        yield from self.sales_plan.pieces(rows)
        yield from self.activity_plan.pieces(rows)

    def collect(self, rows: int = PIECE_ROWS) -> DemoData:
        """The whole dataset in memory: each streamed table assembled from its pieces with
        one chunk per segment, column by column (the pieces are dropped as it goes)."""
        parts: dict[str, list[list[pa.Table]]] = {name: [] for name in STREAMED_TABLES}
        for name, segment, piece in self.pieces(rows):
            segments = parts[name]
            while len(segments) <= segment:
                segments.append([])
            segments[segment].append(piece)
        streamed = {name: assemble(segs, segs[0][0].schema) for name, segs in parts.items()}
        del parts
        return DemoData(
            customers=self.customers,
            transactions=streamed["transactions"],
            activities=streamed["activities"],
            payments=streamed["payments"],
            prospects=self.prospects,
            reps=self.reps,
            products=self.products,
            market=self.market,
            truth=self.truth,
            end_date=self.end_date,
            seed=self.seed,
            truth_coverage=self.truth_coverage,
        )


def generate(
    n_customers: int | None = None,
    seed: int | None = None,
    years: int | None = None,
    end_date: dt.date | None = None,
    settings: DemoSettings | None = None,
) -> DemoData:
    """Generate the demo dataset of a B2B distributor, with planted truths.

    Parameters
    ----------
    n_customers
        Customer records (duplicates included). Default: ``settings.n_customers`` (3000).
    seed
        Random seed. Default: ``settings.seed`` (42).
    years
        Years of invoice history ending at ``end_date``. Default: ``settings.years`` (3).
    end_date
        Last day of the history. Default: ``settings.end_date`` (2025-12-31).
    settings
        The ``[demo]`` settings section; ``DemoSettings()`` when None. Explicit arguments
        override its fields.

    Returns
    -------
    DemoData
        Arrow tables; same arguments give identical tables. To write a large demo
        without holding its transactions whole, see :func:`generate_stream`.

    Example
    -------
    >>> from tierwise.demo import generate
    >>> data = generate(n_customers=200, seed=1)
    >>> data.customers.num_rows
    200
    >>> bool(data.truth["is_prospect"].to_numpy(zero_copy_only=False).any())
    True
    """
    return generate_stream(n_customers, seed, years, end_date, settings).collect()


def generate_stream(
    n_customers: int | None = None,
    seed: int | None = None,
    years: int | None = None,
    end_date: dt.date | None = None,
    settings: DemoSettings | None = None,
) -> DemoStream:
    """Generate the demo dataset with its transaction-sized tables made in pieces.

    Takes the arguments of :func:`generate`; ``generate_stream(...).collect()`` is
    ``generate(...)``. The memory it holds grows with customers and orders, not with
    invoice lines or activities.

    Example
    -------
    >>> stream = generate_stream(n_customers=200, seed=1)
    >>> stream.customers.num_rows
    200
    """
    s = settings if settings is not None else DemoSettings()
    updates: dict[str, object] = {}
    if n_customers is not None:
        updates["n_customers"] = n_customers
    if seed is not None:
        updates["seed"] = seed
    if years is not None:
        updates["years"] = years
    if end_date is not None:
        updates["end_date"] = end_date
    if updates:
        try:
            s = DemoSettings.model_validate({**s.model_dump(), **updates})
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            raise SettingsError(f"[demo] {loc}: {err['msg']} (got {err.get('input')!r})") from exc
    return _Generator(s).run()


#: Rows drawn or handled at a time by the generator's own piecewise loops.
_DRAW_PIECE = 1 << 22


def _fork(
    rng: np.random.Generator, n: int, draw: Callable[[np.random.Generator, int], object]
) -> Mapping[str, Any]:
    """The state of ``rng`` now, after which ``rng`` moves past ``n`` draws of ``draw``
    (made in pieces and dropped): the draws are made again, piece by piece, from a
    generator resumed at that state (:func:`tierwise.demo._pieces.resume`)."""
    state = rng.bit_generator.state
    for i in range(0, n, _DRAW_PIECE):
        draw(rng, min(_DRAW_PIECE, n - i))
    return state


def _uniform32(rng: np.random.Generator, n: int) -> object:
    return rng.random(n, dtype=np.float32)


def _exponential32(rng: np.random.Generator, n: int) -> object:
    return rng.standard_exponential(n, dtype=np.float32)


def _normal32(rng: np.random.Generator, n: int) -> object:
    return rng.standard_normal(n, dtype=np.float32)


def _expense(rng: np.random.Generator, n: int) -> object:
    return rng.normal(np.log(110), 0.3, n)


def _group_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cumulative sums restarting at each group (groups are consecutive runs of ``counts``)."""
    cs = np.cumsum(values)
    ends = np.cumsum(counts)
    starts = ends - counts
    before = np.where(starts > 0, cs[np.maximum(starts - 1, 0)], 0.0)
    return cs - np.repeat(before, counts)


class _KeyOrder:
    """Rows of (record, 16-bit key) gathered in key order, stably: among rows of one key,
    in the order they were added (what ``argsort(key, kind="stable")`` gives).

    Rows go to buckets of 512 consecutive keys as they are added, and each bucket is sorted
    on its own at the end, so the rows are held about once (6 bytes a row) instead of with
    a whole-table sort's permutation and copies.
    """

    _SHIFT = 9  # 2**16 keys / 2**9 = 128 buckets

    def __init__(self) -> None:
        self.buckets: list[list[tuple[np.ndarray, np.ndarray]]] = [
            [] for _ in range(2**16 >> self._SHIFT)
        ]
        self.n = 0

    def add(self, rec: np.ndarray, key: np.ndarray) -> None:
        for p0 in range(0, len(key), _DRAW_PIECE):
            r = rec[p0 : p0 + _DRAW_PIECE].astype(np.int32)
            k = key[p0 : p0 + _DRAW_PIECE]
            bucket = (k >> self._SHIFT).astype(np.uint8)
            order = np.argsort(bucket, kind="stable")
            counts = np.bincount(bucket, minlength=len(self.buckets))
            ends = np.cumsum(counts)
            r, k = r[order], k[order]
            for b in np.flatnonzero(counts):
                sl = slice(ends[b] - counts[b], ends[b])
                self.buckets[b].append((r[sl].copy(), k[sl].copy()))
            self.n += len(k)

    def ordered(self) -> tuple[np.ndarray, np.ndarray]:
        """The records and keys in key order (the buckets are emptied on the way)."""
        rec_out = np.empty(self.n, dtype=np.int32)
        key_out = np.empty(self.n, dtype=np.uint16)
        pos = 0
        for b, parts in enumerate(self.buckets):
            if not parts:
                continue
            rec = np.concatenate([r for r, _ in parts])
            key = np.concatenate([k for _, k in parts])
            self.buckets[b] = []
            del parts
            order = np.argsort(key, kind="stable")
            rec_out[pos : pos + len(order)] = rec[order]
            key_out[pos : pos + len(order)] = key[order]
            pos += len(order)
        return rec_out, key_out


@dataclass(frozen=True)
class _Coverage:
    """Legacy coverage: the reps table, each record's channel, rep and share of its
    company's contacts, each company's contact rates per year and the day its coverage
    stops."""

    reps: pa.Table
    rec_channel: np.ndarray
    rec_rep: np.ndarray
    rec_share: np.ndarray
    visits: np.ndarray
    calls: np.ndarray
    emails: np.ndarray
    stop: np.ndarray


class _Generator:
    def __init__(self, s: DemoSettings) -> None:
        self.s = s
        self.rng = np.random.default_rng(s.seed)
        self.end = (s.end_date - _EPOCH).days
        # the window starts the day after end_date minus `years` years
        try:
            start_date = s.end_date.replace(year=s.end_date.year - s.years)
        except ValueError:  # 29 February
            start_date = s.end_date.replace(year=s.end_date.year - s.years, day=28)
        self.start = (start_date - _EPOCH).days + 1

    # ------------------------------------------------------------------ dates
    def working_day(self, days: np.ndarray) -> np.ndarray:
        """Move Saturday and Sunday to the next Monday (or back to Friday at end_date)."""
        d = np.asarray(days).astype(np.int32)
        dow = (d + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
        d = d + np.where(dow == 5, 2, np.where(dow == 6, 1, 0)).astype(np.int32)
        return np.where(d > self.end, d - 3, d).astype(np.int32)

    # ------------------------------------------------------------------ firmographics
    def firmographics(self, n: int) -> dict[str, np.ndarray]:
        rng, s = self.rng, self.s
        ind_p = np.array([v[0] for v in W.INDUSTRIES.values()])
        ind = rng.choice(len(ind_p), size=n, p=ind_p / ind_p.sum()).astype(np.int16)
        reg_p = np.array([v[0] for v in W.REGIONS.values()])
        reg = rng.choice(len(reg_p), size=n, p=reg_p / reg_p.sum()).astype(np.int16)
        # a city of the region, chosen uniformly
        n_city = np.array([len(v[2]) for v in W.REGIONS.values()])
        city_off = np.concatenate([[0], np.cumsum(n_city)[:-1]])
        city = (city_off[reg] + np.floor(rng.random(n) * n_city[reg])).astype(np.int16)
        c_lat = np.array([c[1] for c in _CITIES])
        c_lon = np.array([c[2] for c in _CITIES])
        lat = c_lat[city] + rng.normal(0, 0.08, n)
        lon = c_lon[city] + rng.normal(0, 0.12, n)
        emp = np.clip(np.rint(np.exp(rng.normal(2.7, 1.3, n))), 1, 50_000)
        ind_wallet = np.array([v[1] for v in W.INDUSTRIES.values()])[ind]
        reg_wallet = np.array([v[1] for v in W.REGIONS.values()])[reg]
        wallet = (
            s.wallet_base
            * ind_wallet
            * reg_wallet
            * emp**s.wallet_employee_exponent
            * np.exp(rng.normal(-0.5 * s.wallet_noise_sigma**2, s.wallet_noise_sigma, n))
        )
        rev_pe = np.array([v[2] for v in W.INDUSTRIES.values()])[ind]
        annual_revenue = np.round(emp * rev_pe * np.exp(rng.normal(0, 0.4, n)), -3)
        return {
            "industry": ind,
            "region": reg,
            "city": city,
            "lat": lat,
            "lon": lon,
            "employees": emp,
            "annual_revenue": np.maximum(annual_revenue, 1000.0),
            "wallet": np.round(wallet, 2),
        }

    def names(self, n: int, ind: np.ndarray) -> dict[str, np.ndarray]:
        """Name components of n companies (built into text by :meth:`build_names`)."""
        rng = self.rng
        fam_p = np.array([f[0] for f in W.LEGAL])
        pattern = rng.choice(5, size=n, p=[0.35, 0.15, 0.2, 0.15, 0.15]).astype(np.int8)
        return {
            "pattern": pattern,
            "stem": rng.integers(0, len(W.STEMS), n),
            "stem2": rng.integers(0, len(W.STEMS), n),
            "word": rng.integers(0, 4, n),
            "common": rng.integers(0, len(W.COMMON), n),
            "legal_fam": rng.choice(len(fam_p), size=n, p=fam_p / fam_p.sum()),
            "legal_var": np.where(rng.random(n) < 0.2, 1, 0),
            "ind": ind,
            "use_and": np.zeros(n, dtype=bool),
            "drop_common": np.zeros(n, dtype=bool),
        }

    @staticmethod
    def build_names(c: dict[str, np.ndarray], branch: pa.Array | None = None) -> pa.Array:
        pattern = c["pattern"]
        words = [w for v in W.INDUSTRIES.values() for w in v[3]]
        word_idx = c["ind"].astype(np.int64) * 4 + c["word"]
        # pattern 0: stem word legal | 1: stem & stem2 legal | 2: stem common legal
        #         3: stem word common legal | 4: stem stem2 word legal
        has_stem2 = (pattern == 1) | (pattern == 4)
        has_word = (pattern == 0) | (pattern == 3) | (pattern == 4)
        has_common = ((pattern == 2) | (pattern == 3)) & ~c["drop_common"]
        amp = np.where(c["use_and"], 1, 0)
        legal_words = [v for f in W.LEGAL for v in f[1]]
        fam_off = np.concatenate([[0], np.cumsum([len(f[1]) for f in W.LEGAL])[:-1]])
        fam_len = np.array([len(f[1]) for f in W.LEGAL])
        legal_idx = fam_off[c["legal_fam"]] + np.minimum(
            c["legal_var"], fam_len[c["legal_fam"]] - 1
        )
        parts: list[pa.Array | str] = [
            pick(W.STEMS, c["stem"]),
            pick(["&", "and"], amp, pattern == 1),
            pick(W.STEMS, c["stem2"], has_stem2),
            pick(words, word_idx, has_word),
            pick(W.COMMON, c["common"], has_common),
            pick(legal_words, legal_idx),
        ]
        if branch is not None:
            parts.append(branch)
        return join(parts)

    # ------------------------------------------------------------------ main
    def run(self) -> DemoStream:
        s, rng = self.s, self.rng
        R = s.n_customers
        n_prospects = round(s.prospect_share * R)
        # ---- companies and their records (duplicates) ----
        d = s.duplicate_share
        C = max(1, round(R / (1 + 1.3 * d)))
        n_dup = min(round(d * C), R - C, C)
        extra = R - C
        k = np.ones(C, dtype=np.int64)
        dup_comp = rng.choice(C, size=n_dup, replace=False) if n_dup > 0 else np.zeros(0, int)
        k[dup_comp] += 1
        rest = extra - n_dup
        if rest > 0:
            # a third record for some duplicate companies; any remainder as further records
            third = dup_comp[rng.permutation(n_dup)[: min(rest, n_dup)]]
            k[third] += 1
            rest -= len(third)
            if rest > 0:  # only with duplicate_share near its maximum
                k[0] += rest
        rec_comp = np.repeat(np.arange(C), k)
        rec_first = np.cumsum(k) - k
        rec_j = np.arange(R) - rec_first[rec_comp]

        f = self.firmographics(C)
        names = self.names(C, f["industry"])
        wallet = f["wallet"]
        emp = f["employees"]

        # ---- buying behaviour ----
        wrank = np.argsort(np.argsort(wallet)) / max(C - 1, 1)
        n_costly = round(s.costly_share * C)
        costly = np.zeros(C, dtype=bool)
        eligible = np.flatnonzero(wrank < 0.6)
        if n_costly and len(eligible):
            costly[rng.choice(eligible, size=min(n_costly, len(eligible)), replace=False)] = True
        late = rng.random(C) < s.late_payer_share
        late |= costly & (rng.random(C) < 0.7)

        conc = s.share_of_wallet_concentration
        sow = rng.beta(s.share_of_wallet_mean * conc, (1 - s.share_of_wallet_mean) * conc, C)
        sow = np.clip(sow, 0.01, 0.99)
        size_f = (emp / np.median(emp)) ** 0.3
        # a year's spend is orders × order value: bigger spenders order both more often and
        # more per order (λ takes the spend to rate_spend_exponent, the order value the
        # rest), and the part of λ not set by spend is Gamma-distributed across companies,
        # so order frequency and mean order value are nearly independent, as the
        # Gamma-Gamma spend model assumes (CDNOW's correlation is 0.11)
        # base spend per year while alive: it sets the order rate; what is spent per order
        # comes from the response to contact (below)
        spend = sow * wallet
        spend_f = (spend / np.median(spend)) ** s.rate_spend_exponent
        lam = rng.gamma(s.purchase_rate_shape, s.mean_orders_per_year / s.purchase_rate_shape, C)
        lam = np.maximum(lam * spend_f, 0.05)
        lam = np.where(costly, lam * 3.5 + 6.0, lam)
        p_drop = rng.beta(s.dropout_a, s.dropout_b, C)
        p_drop = np.where(costly, p_drop * 0.5, p_drop)
        n_before_death = rng.geometric(np.clip(p_drop, 1e-6, 1.0))

        is_new = rng.random(C) < s.new_customer_share
        created = np.where(
            is_new,
            self.start + np.floor(rng.random(C) * (self.end - self.start + 1)),
            self.start - 1 - np.floor(rng.random(C) ** 1.5 * 15 * _DAYS_PER_YEAR),
        ).astype(np.int64)
        t0 = np.where(is_new, created, self.start).astype(np.float64)
        span = self.end + 1 - t0  # days
        K = rng.poisson(lam * span / _DAYS_PER_YEAR)
        first = is_new.astype(np.int64)
        kept = np.minimum(first + K, n_before_death)
        m = kept - first  # uniform-time events kept
        alive = (first + K) < n_before_death

        # times of the first m of K sorted uniforms, without sorting
        M = int(m.sum())
        S = _group_cumsum(rng.standard_exponential(M), m)
        m_end = np.cumsum(m)
        has = m > 0
        S_last = np.zeros(C)
        S_last[has] = S[m_end[has] - 1]
        total = S_last + rng.gamma((K - m + 1).astype(np.float64))
        ocomp_u = np.repeat(np.arange(C, dtype=np.int32), m)
        oday_u = self.working_day(np.floor(t0[ocomp_u] + S / total[ocomp_u] * span[ocomp_u]))
        del S
        first_c = np.flatnonzero(is_new & (kept > 0)).astype(np.int32)
        first_day = self.working_day(created[first_c])
        # death date: the day of the last order of a company that dropped out
        last_day = np.full(C, -1, dtype=np.int64)
        last_day[first_c] = first_day
        last_day[has] = oday_u[m_end[has] - 1]
        death = np.where(alive, -1, last_day)

        # chronological order numbering
        ocomp = np.concatenate([first_c, ocomp_u])
        oday = np.concatenate([first_day, oday_u])
        perm = day_order(oday, self.start)
        ocomp, oday = ocomp[perm], oday[perm]
        del ocomp_u, oday_u, perm
        n_ord = len(ocomp)

        # ---- duplicates: which record each event belongs to ----
        dup_mode_time = rng.random(C) < 0.5  # address change (time split) vs parallel records
        u1 = np.sort(rng.random((C, 2)), axis=1)
        cut1 = t0 + (0.2 + 0.6 * u1[:, 0]) * span
        cut2 = np.where(k >= 3, t0 + (0.2 + 0.6 * u1[:, 1]) * span, np.inf)
        w1 = 0.5 + 0.3 * rng.random(C)
        w2 = np.where(k >= 3, (1 - w1) * 0.5, 1 - w1)
        rec_cut_start = np.where(
            rec_j == 0, -np.inf, np.where(rec_j == 1, cut1[rec_comp], cut2[rec_comp])
        )

        def to_record(comp: np.ndarray, day: np.ndarray) -> np.ndarray:
            kk = k[comp]
            j_time = (day >= cut1[comp]).astype(np.int64) + (day >= cut2[comp])
            u = rng.random(len(comp))
            j_w = (u > w1[comp]).astype(np.int64) + (u > w1[comp] + w2[comp])
            j = np.where(dup_mode_time[comp], j_time, j_w)
            j = np.minimum(j, kk - 1)
            return (rec_first[comp] + j).astype(np.int32)

        orec = to_record(ocomp, oday)

        # ---- legacy coverage and the response to contact (their own random stream) ----
        # Contacts ran at the legacy rates in the history's second half and at
        # early_factor times them before; a company's yearly spend while alive follows its
        # response at the effort of the time (tierwise.demo._response). The order process
        # above was set by the base share (orders per year); the response sets the value.
        crng = np.random.default_rng([s.seed, SALT])
        cov = self.legacy_coverage(
            crng, f, wrank, costly, (t0, alive, death), rec_comp, rec_j, k, dup_mode_time, w1, w2
        )
        resp = draw_response(crng, sow, wallet, costly)
        early_factor = np.clip(np.exp(crng.normal(0.0, 0.5, C)), 0.3, 3.0)
        legacy_effort = effort(cov.visits, cov.calls, cov.emails)
        share_late = response_share(resp, legacy_effort)
        share_early = response_share(resp, early_factor * legacy_effort)
        mid = self.start + (self.end - self.start + 1) // 2

        # ---- order values, lines, products ----
        # Only what is decided per company and per order is drawn here; the per-line draws
        # (category bin, product bin, value weight) each have a stream of their own that
        # starts where the main stream stands, and Sales.pieces draws them piece by piece.
        mov = wallet * share_late / lam
        half = np.where(oday < mid, (share_early / share_late)[ocomp], 1.0)
        ovalue = mov[ocomp] * half * rng.gamma(2.0, 0.5, n_ord)
        del half
        q_line = np.clip(
            (s.mean_lines_per_order - 1) / 7 * size_f**0.5 * np.exp(rng.normal(0, 0.3, C)),
            0.01,
            0.97,
        )
        q_line = np.where(costly, 0.06, q_line)
        nlines = (1 + rng.binomial(7, q_line[ocomp])).astype(np.int8)
        L = int(nlines.sum(dtype=np.int64))

        n_cat = len(_CATEGORY_NAMES)
        affinity = np.ones((len(_INDUSTRY_NAMES), n_cat))
        for i, v in enumerate(W.INDUSTRIES.values()):
            for cname, boost in v[4].items():
                affinity[i, _CATEGORY_NAMES.index(cname)] += boost
        margin_cat = np.array([v[0] for v in W.CATEGORIES.values()])
        alpha = affinity[f["industry"]] * 0.8
        alpha = np.where(costly[:, None], alpha * (1 + 6 * (margin_cat[None, :] >= 0.3)), alpha)
        g = rng.gamma(alpha)
        del alpha
        cw = np.cumsum(g / g.sum(axis=1, keepdims=True), axis=1)
        # each company's category mix as an inverse-CDF table of 128 equally likely bins:
        # one gather per line instead of a comparison per category
        bins = 128
        mids = (np.arange(bins) + 0.5) / bins
        cat_table = np.zeros((C, bins), dtype=np.int8)
        for j in range(n_cat - 1):
            cat_table += mids[None, :] > cw[:, j : j + 1]
        del g, cw
        # each company's chance of each category per line (its table's share of bins)
        cat_p = np.stack([(cat_table == j).mean(axis=1) for j in range(n_cat)], axis=1)
        line_states = {"bin": _fork(rng, L, _uniform32)}

        P = s.n_products_per_category
        pop = 1.0 / np.arange(1, P + 1) ** 0.9
        popcum = np.cumsum(pop / pop.sum())
        popcum[-1] = 1.0
        pbins = 4096
        prod_table = np.minimum(
            np.searchsorted(popcum, (np.arange(pbins) + 0.5) / pbins), P - 1
        ).astype(np.int32)
        line_states["product"] = _fork(rng, L, _uniform32)
        med_price = np.array([v[1] for v in W.CATEGORIES.values()])
        prod_cat = np.repeat(np.arange(n_cat), P)
        list_price = np.round(med_price[prod_cat] * np.exp(rng.normal(0, 0.6, n_cat * P)), 2)
        list_price = np.maximum(list_price, 0.5)
        prod_margin = np.clip(margin_cat[prod_cat] + rng.normal(0, 0.04, n_cat * P), 0.05, 0.7)
        unit_cost = np.round(list_price * (1 - prod_margin), 2)

        disc = np.clip(0.02 + 0.03 * np.log10(emp) + rng.normal(0, 0.03, C), 0.0, 0.25)
        disc = np.where(costly, disc + 0.05, disc)
        # true gross margin rate: a line's value does not depend on its product, so the
        # expected cost share is the category mix times each category's popularity-weighted
        # cost share (1 - product margin), over the price after discount
        prod_p = np.bincount(prod_table, minlength=P) / pbins
        cost_share = ((1 - prod_margin).reshape(n_cat, P) * prod_p[None, :]).sum(axis=1)
        true_margin = 1 - (cat_p @ cost_share) / (1 - disc)
        del cat_p
        line_states["weight"] = _fork(rng, L, _exponential32)

        # ---- credit notes: cancellations (whole order) and partial returns ----
        ret_rate = np.clip(rng.beta(1.5, 1.5 / s.return_order_share, C), 0, 0.5)
        ret_rate = np.where(costly, np.maximum(ret_rate, 0.15), ret_rate)
        cancel = rng.random(n_ord) < s.cancel_share
        ret = ~cancel & (rng.random(n_ord) < ret_rate[ocomp])
        # cancellations: every line negated, 0-3 days later
        cday = np.minimum(oday + rng.integers(0, 4, n_ord), self.end)
        cancelled = np.flatnonzero(cancel)
        cancel_day = cday[cancelled]
        del cday
        # returns: part of one line, 3-40 days later (dropped when after end_date)
        r_ord = np.flatnonzero(ret)
        del ret
        rday_all = oday[r_ord] + rng.integers(3, 41, len(r_ord))
        keep_r = rday_all <= self.end
        r_ord, rday = r_ord[keep_r], rday_all[keep_r]
        lstart = np.cumsum(nlines, dtype=np.int64)[r_ord] - nlines[r_ord]
        rl = lstart + np.floor(rng.random(len(r_ord)) * nlines[r_ord]).astype(np.int64)
        # the returned quantity: this share of the line's, rounded down, at least 1
        r_draw = rng.uniform(0.2, 1.0, len(rl))
        # returns are numbered by date ('RT…')
        ret_no = np.zeros(len(r_ord), dtype=np.int64)
        ret_no[np.argsort(rday, kind="stable")] = np.arange(len(r_ord))
        # order ids: 'SO…' by date; cancellations 'C' + the cancelled order's id
        id_width = max(8, len(str(n_ord + 100_000)))

        rec_no = rng.permutation(R) + 1  # customer numbers, shuffled so duplicates are apart
        width = max(7, len(str(R)))  # "C" + 7 digits: 8 bytes, gathered as one word
        cust_ids = fixed_ids("C", rec_no, width)  # in record order
        product_ids = fixed_ids("SKU", np.arange(n_cat * P) + 1, 5)

        products = pa.table(
            {
                "product_id": product_ids,
                "product_category": pick(_CATEGORY_NAMES, prod_cat),
                "list_price": floats(list_price),
                "unit_cost": floats(unit_cost),
            }
        )

        # active span of each record: [a, b] days, coverage keeps going after death
        stop_c = cov.stop
        ra = np.maximum(t0[rec_comp], np.where(dup_mode_time[rec_comp], rec_cut_start, -np.inf))
        rec_next = np.where(rec_j == 0, cut1[rec_comp], cut2[rec_comp])
        rb = np.where(dup_mode_time[rec_comp] & (rec_j + 1 < k[rec_comp]), rec_next, self.end + 1.0)
        ra = np.ceil(ra).astype(np.int64)
        rb = np.minimum(np.ceil(rb).astype(np.int64) - 1, stop_c[rec_comp])
        rspan = np.maximum(rb - ra + 1, 0)
        rec_channel, rec_rep, reps = cov.rec_channel, cov.rec_rep, cov.reps

        # activities as (record, key), key = (day - start) × types + type: 6 bytes each,
        # put in date and type order (stable: within a day and type, as generated)
        n_types = len(ACTIVITY_TYPES)
        acts = _KeyOrder()
        n_visits = 0

        def add(rec: np.ndarray, day: np.ndarray, typ: int) -> None:
            acts.add(rec, ((day - self.start) * n_types + typ).astype(np.uint16))

        def poisson_events(
            rate: np.ndarray, typ: int, a: np.ndarray = ra, span: np.ndarray = rspan
        ) -> int:
            cnt = rng.poisson(rate * span / _DAYS_PER_YEAR)
            rr = np.repeat(np.arange(R, dtype=np.int32), cnt)
            for e0 in range(0, len(rr), _DRAW_PIECE):
                r = rr[e0 : e0 + _DRAW_PIECE]
                add(r, a[r] + np.floor(rng.random(len(r)) * span[r]).astype(np.int64), typ)
            return len(rr)

        # visits, calls and e-mails: early_factor times the legacy rates before mid, the
        # legacy rates from mid on, each record its share of its company's contacts
        early_span = np.maximum(np.minimum(rb, mid - 1) - ra + 1, 0)
        late_a = np.maximum(ra, mid)
        late_span = np.maximum(rb - late_a + 1, 0)
        for typ, rate in enumerate((cov.visits, cov.calls, cov.emails)):
            rec_rate = rate[rec_comp] * cov.rec_share
            n_early = poisson_events(rec_rate * early_factor[rec_comp], typ, ra, early_span)
            n_late = poisson_events(rec_rate, typ, late_a, late_span)
            if typ == 0:
                n_visits = n_early + n_late
        # deliveries: one per order (cancelled ones too), 1-3 days after the order
        add(orec, np.minimum(oday + rng.integers(1, 4, n_ord), self.end), 3)
        chg_rate = np.clip(rng.beta(1.0, 19.0, C), 0, 0.6)
        chg_rate = np.where(costly, 0.35 + 0.2 * rng.random(C), chg_rate)
        chg = rng.random(n_ord) < chg_rate[ocomp]
        add(orec[chg], oday[chg], 4)
        del chg
        add(orec[r_ord], rday, 5)
        quote_rate = np.where(rec_channel == 3, 0.5, 2.0) * np.exp(rng.normal(0, 0.5, R))
        poisson_events(quote_rate, 6)
        support_rate = np.where(costly[rec_comp], 5.0, 0.8 * np.exp(rng.normal(0, 0.6, R)))
        poisson_events(support_rate, 7)

        a_rec, a_key = acts.ordered()
        # durations, then which visits carry an expense, then the expenses (all drawn in
        # table order by Activities.pieces)
        act_states = {"duration": _fork(rng, len(a_key), _normal32)}
        act_states["expensed"] = rng.bit_generator.state
        n_expensed = 0
        for e0 in range(0, n_visits, _DRAW_PIECE):
            n_expensed += int((rng.random(min(_DRAW_PIECE, n_visits - e0)) < 0.05).sum())
        act_states["expense"] = _fork(rng, n_expensed, _expense)
        activities = Activities(
            first_day=self.start,
            rec=a_rec,
            key=a_key,
            rec_rep=rec_rep,
            cust_ids=cust_ids,
            rep_ids=reps.column("rep_id").combine_chunks(),
            states=act_states,
        )

        # ---- payments: one per sales invoice that was not cancelled ----
        terms = rng.choice(np.array([30, 45, 60]), size=C, p=[0.6, 0.25, 0.15])
        inv = np.flatnonzero(~cancel)
        icomp = ocomp[inv]
        n_inv = len(inv)
        is_late = late[icomp] & (rng.random(n_inv) < 0.85)
        delay = np.where(
            is_late,
            rng.integers(30, 91, n_inv),
            np.round(rng.normal(2, 6, n_inv)).astype(np.int64),
        )
        del is_late
        delay = np.maximum(delay, -terms[icomp] + 7)
        bad_debt = rng.random(n_inv) < np.where(late[icomp], 0.03, 0.002)
        # paid = due + delay, due = order day + terms: made again by Sales.pieces
        unpaid = (oday[inv] + terms[icomp] + delay > self.end) | bad_debt
        del bad_debt, inv, icomp
        sales = Sales(
            seed=s.seed,
            first_day=self.start,
            id_width=id_width,
            n_per_category=P,
            ocomp=ocomp,
            orec=orec,
            oday=oday,
            nlines=nlines,
            ovalue=ovalue,
            cancel=cancel,
            cat_table=cat_table,
            disc=disc,
            prod_table=prod_table,
            list_price=list_price,
            unit_cost=unit_cost,
            cancelled=cancelled,
            cancel_day=cancel_day,
            ret_order=r_ord,
            ret_line=rl,
            ret_day=rday,
            ret_draw=r_draw,
            ret_number=ret_no,
            terms=terms,
            delay=delay.astype(np.int16),
            unpaid=unpaid,
            cust_ids=cust_ids,
            product_ids=product_ids,
            states=line_states,
        )
        del delay, unpaid
        # ---- customer master with duplicate variants ----
        customers = self.customer_table(
            cust_ids,
            rec_comp,
            rec_j,
            k,
            f,
            names,
            dup_mode_time,
            rec_channel,
            rec_rep,
            reps,
            created,
            cut1,
            cut2,
            terms,
        )
        customers, building = plant_shared_buildings(customers, rec_comp, rec_j, names, s.seed)
        order_c = np.argsort(rec_no)
        customers = customers.take(pa.array(order_c))

        # ---- prospects ----
        fp = self.firmographics(n_prospects)
        np_names = self.names(n_prospects, fp["industry"])
        pros_ids = fixed_ids("PR", np.arange(n_prospects) + 1, width)
        prospects = self.plain_table(pros_ids, fp, np_names)

        # ---- market: industry × region, at least the wallets we know of ----
        cells = len(_INDUSTRY_NAMES) * len(_REGION_NAMES)
        cell_c = f["industry"].astype(np.int64) * len(_REGION_NAMES) + f["region"]
        cell_p = fp["industry"].astype(np.int64) * len(_REGION_NAMES) + fp["region"]
        known = np.bincount(cell_c, weights=wallet, minlength=cells) + np.bincount(
            cell_p, weights=fp["wallet"], minlength=cells
        )
        coverage = rng.uniform(0.15, 0.45, cells)
        mkt_size = np.round(np.maximum(known, s.wallet_base * 1000) / coverage, -3)
        ind_growth = np.array([v[5] for v in W.INDUSTRIES.values()])
        growth = np.round(np.repeat(ind_growth, len(_REGION_NAMES)) + rng.normal(0, 0.01, cells), 4)
        market = pa.table(
            {
                "industry": pick(
                    _INDUSTRY_NAMES, np.repeat(np.arange(len(_INDUSTRY_NAMES)), len(_REGION_NAMES))
                ),
                "region": pick(
                    _REGION_NAMES, np.tile(np.arange(len(_REGION_NAMES)), len(_INDUSTRY_NAMES))
                ),
                "market_size": floats(mkt_size),
                "growth_rate": floats(growth),
            }
        )

        # ---- truth ----
        # prospects respond too (from nothing), at their industry's mean margin rate
        presp = draw_prospect_response(crng, fp["wallet"])
        n_ind = len(_INDUSTRY_NAMES)
        ind_n = np.bincount(f["industry"], minlength=n_ind)
        ind_margin = np.where(
            ind_n > 0,
            np.bincount(f["industry"], weights=true_margin, minlength=n_ind) / np.maximum(ind_n, 1),
            true_margin.mean(),
        )
        rc = rec_comp[order_c]
        zeros_p = np.zeros(n_prospects)

        def company_truth(values: np.ndarray, for_prospects: np.ndarray) -> pa.Array:
            return floats(np.concatenate([values[rc], for_prospects]))

        comp_ids = fixed_ids("E", np.concatenate([rc, C + np.arange(n_prospects)]) + 1, width)
        nanP = np.full(n_prospects, np.nan)
        truth = pa.table(
            {
                "customer_id": pa.concat_arrays(
                    [customers.column("customer_id").combine_chunks(), pros_ids]
                ),
                "company_id": comp_ids,
                "is_prospect": pa.array(
                    np.concatenate([np.zeros(R, bool), np.ones(n_prospects, bool)])
                ),
                "true_wallet": floats(np.concatenate([wallet[rc], fp["wallet"]])),
                "true_share_of_wallet": company_truth(share_late, zeros_p),
                "true_alive": pa.array(
                    np.concatenate([alive[rc], np.zeros(n_prospects, bool)]),
                    mask=np.concatenate([np.zeros(R, bool), np.ones(n_prospects, bool)]),
                ),
                "true_purchase_rate": floats(
                    np.concatenate([lam[rc], nanP]),
                    np.concatenate([np.zeros(R, bool), np.ones(n_prospects, bool)]),
                ),
                "true_dropout_prob": floats(
                    np.concatenate([p_drop[rc], nanP]),
                    np.concatenate([np.zeros(R, bool), np.ones(n_prospects, bool)]),
                ),
                "true_death_date": dates(
                    np.concatenate([np.maximum(death[rc], 0), np.zeros(n_prospects, np.int64)]),
                    np.concatenate([death[rc] < 0, np.ones(n_prospects, bool)]),
                ),
                "costly": pa.array(np.concatenate([costly[rc], np.zeros(n_prospects, bool)])),
                "late_payer": pa.array(np.concatenate([late[rc], np.zeros(n_prospects, bool)])),
                "building_id": pa.concat_arrays(
                    [building.take(pa.array(order_c)), pa.nulls(n_prospects, pa.string())]
                ),
                "true_s0": company_truth(resp.s0, presp.s0),
                "true_s1": company_truth(resp.s1, presp.s1),
                "true_c": company_truth(resp.c, presp.c),
                "true_d": company_truth(resp.d, presp.d),
                "true_margin_rate": company_truth(true_margin, ind_margin[fp["industry"]]),
                "legacy_visits_per_year": company_truth(cov.visits, zeros_p),
                "legacy_calls_per_year": company_truth(cov.calls, zeros_p),
                "legacy_emails_per_year": company_truth(cov.emails, zeros_p),
                "early_effort_factor": floats(
                    np.concatenate([early_factor[rc], np.ones(n_prospects)]),
                    np.concatenate([np.zeros(R, bool), np.ones(n_prospects, bool)]),
                ),
            }
        )
        return DemoStream(
            customers=customers,
            prospects=prospects,
            reps=reps,
            products=products,
            market=market,
            truth=truth,
            end_date=s.end_date,
            seed=s.seed,
            truth_coverage=coverage_truth(str(_EPOCH + dt.timedelta(days=int(mid)))),
            sales_plan=sales,
            activity_plan=activities,
        )

    # ------------------------------------------------------------------ reps
    def reps(
        self, comp_region: np.ndarray, C: int, rng: np.random.Generator
    ) -> tuple[pa.Table, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Field reps per region (sized by companies, at least one in a region that has a
        company and none in a region that has none: a run refuses a field rep without a
        customer of its region), inside sales and key account managers."""
        s = self.s
        n_reg = len(_REGION_NAMES)
        per_region = np.bincount(comp_region, minlength=n_reg)
        n_field = np.where(
            per_region > 0, np.maximum(1, np.round(per_region / s.customers_per_field_rep)), 0
        ).astype(np.int64)
        n_inside = max(1, round(C / s.customers_per_inside_rep))
        n_kam = max(1, round(C / s.customers_per_key_account_manager))
        role = np.concatenate(
            [
                np.zeros(n_field.sum(), np.int8),
                np.ones(n_inside, np.int8),
                np.full(n_kam, 2, np.int8),
            ]
        )
        region = np.concatenate(
            [np.repeat(np.arange(n_reg), n_field), np.arange(n_inside) % n_reg, np.full(n_kam, -1)]
        ).astype(np.int64)
        n = len(role)
        # homes: a city of the rep's region (inside sales and key accounts: head office)
        n_city = np.array([len(v[2]) for v in W.REGIONS.values()])
        city_off = np.concatenate([[0], np.cumsum(n_city)[:-1]])
        reg0 = np.maximum(region, 0)
        city = city_off[reg0] + np.floor(rng.random(n) * n_city[reg0]).astype(np.int64)
        hq = next(i for i, c in enumerate(_CITIES) if c[0] == "Birmingham")
        city = np.where(role == 0, city, hq)
        lat = np.array([c[1] for c in _CITIES])[city] + rng.normal(0, 0.05, n)
        lon = np.array([c[2] for c in _CITIES])[city] + rng.normal(0, 0.08, n)
        hours = np.where(role == 0, s.field_rep_hours, np.where(role == 1, 1700.0, 1500.0))
        table = pa.table(
            {
                "rep_id": fixed_ids("R", np.arange(n) + 1, max(4, len(str(n)))),
                "role": pick(_ROLES, role),
                "hours_per_year": floats(hours),
                "region": pick(_REGION_NAMES, reg0, region >= 0),
                "home_lat": floats(np.round(lat, 5)),
                "home_lon": floats(np.round(lon, 5)),
            }
        )
        return table, region, lat, lon, role

    # ------------------------------------------------------------------ legacy coverage
    def legacy_coverage(
        self,
        rng: np.random.Generator,
        f: dict[str, np.ndarray],
        wrank: np.ndarray,
        costly: np.ndarray,
        life: tuple[np.ndarray, np.ndarray, np.ndarray],
        rec_comp: np.ndarray,
        rec_j: np.ndarray,
        k: np.ndarray,
        dup_mode_time: np.ndarray,
        w1: np.ndarray,
        w2: np.ndarray,
    ) -> _Coverage:
        """The reps and today's (legacy) coverage: each company's channel, rep and contact
        rates, misallocated as a real field force's are.

        Visits follow habit and the rep's liking more than value: a rep's own habit, the
        distance from the rep's home, a liking per company only loosely tied to its size
        (its wallet rank to the power 0.8 times a log-normal), key accounts 10 a year, and
        12-18 a year for the planted costly companies. None of it looks at what a contact
        would earn (the response, :mod:`tierwise.demo._response`). Where a rep's contacts
        with travel would need more than :data:`CAPACITY_USE` of its hours, all its
        contact rates are scaled down to fit. A rep's hours count the contacts of the
        history's last year: a company is contacted from its first day in the window
        (``life``: first day, alive at the end, death day) until the end or, once it has
        died, for a while longer (exponential lag, mean 240 days) before the rep notices.
        """
        s = self.s
        C, R = len(k), len(rec_comp)
        reps, rep_region, rep_lat, rep_lon, rep_role = self.reps(f["region"], C, rng)
        n_reps = len(rep_role)
        habit = np.exp(rng.normal(0, 0.5, n_reps))
        # legacy tier: weakly related to value (history, habit), not to the true wallet
        score = np.log(f["wallet"]) + rng.normal(0, 1.6, C)
        z = (score - score.mean()) / max(score.std(), 1e-9)
        ka = z >= np.quantile(z, 0.98)
        field_p = 1 / (1 + np.exp(-(0.5 * z + 0.3)))
        uch = rng.random(C)
        channel = np.where(
            ka, 2, np.where(costly | (uch < field_p * 0.85), 0, np.where(uch < 0.9, 1, 3))
        ).astype(np.int8)
        field_by_region = [
            np.flatnonzero((rep_role == 0) & (rep_region == r)) for r in range(len(_REGION_NAMES))
        ]
        n_fr = np.array([len(x) for x in field_by_region])
        fr_off = np.concatenate([[0], np.cumsum(n_fr)[:-1]])
        field_flat = np.concatenate(field_by_region)
        inside = np.flatnonzero(rep_role == 1)
        kam = np.flatnonzero(rep_role == 2)

        def rep_for(ch: np.ndarray, region: np.ndarray) -> np.ndarray:
            n = len(ch)
            u = rng.random(n)
            fr = field_flat[fr_off[region] + np.floor(u * n_fr[region]).astype(np.int64)]
            ir = inside[np.floor(u * len(inside)).astype(np.int64)]
            kr = kam[np.floor(u * len(kam)).astype(np.int64)]
            return np.where(ch == 0, fr, np.where(ch == 2, kr, ir)).astype(np.int64)

        # each record: the company's channel; secondary records sometimes another rep
        rec_channel = channel[rec_comp]
        comp_rep = rep_for(channel, f["region"])
        rec_rep = comp_rep[rec_comp]
        other = (rec_j > 0) & (rng.random(R) < 0.4)
        rec_rep = np.where(other, rep_for(rec_channel, f["region"][rec_comp]), rec_rep)

        # company rates per year, set by its (first record's) rep: distance from the rep's
        # home in km, the rep's habit, and a liking only loosely tied to value
        dlat = np.radians(f["lat"] - rep_lat[comp_rep])
        dlon = np.radians(f["lon"] - rep_lon[comp_rep]) * np.cos(np.radians(f["lat"]))
        dist = 6371 * np.sqrt(dlat**2 + dlon**2)
        liking = np.exp(rng.normal(0, 0.7, C)) * (wrank + 0.5) ** 0.8
        visits = np.where(
            channel == 0,
            s.mean_field_visits_per_year * habit[comp_rep] * np.exp(-(dist - 25) / 90) * liking,
            np.where(channel == 2, 10.0 * liking, np.where(channel == 1, 0.2, 0.0)),
        )
        visits = np.clip(visits, 0, 26)
        visits = np.where(costly, 12 + 6 * rng.random(C), visits)
        calls = np.where(
            channel == 0,
            3.0 * habit[comp_rep],
            np.where(
                channel == 1,
                10.0 * np.exp(rng.normal(0, 0.5, C)),
                np.where(channel == 2, 8.0, 0.5),
            ),
        )
        emails = 2.0 * np.exp(rng.normal(0, 0.4, C))
        # when coverage stops: at the end, or a lag after the company died
        t0, alive, death = life
        lag = rng.exponential(240, C)
        stop = np.where(alive, self.end, np.minimum(self.end, death + lag)).astype(np.int64)
        # a rep's contact hours in the last year (visits with travel) fit within its hours
        year_start = self.end - _DAYS_PER_YEAR
        in_year = np.clip((stop + 1 - np.maximum(t0, year_start)) / _DAYS_PER_YEAR, 0.0, 1.0)
        minutes = in_year * (
            visits * (MINUTES_PER_CONTACT["visit"] + TRAVEL_MINUTES_PER_KM * dist)
            + calls * MINUTES_PER_CONTACT["call"]
            + emails * MINUTES_PER_CONTACT["email"]
        )
        rep_hours = np.bincount(comp_rep, weights=minutes / 60, minlength=n_reps)
        capacity = reps.column("hours_per_year").to_numpy()
        scale = np.minimum(1.0, CAPACITY_USE * capacity / np.maximum(rep_hours, 1e-9))
        visits, calls, emails = (x * scale[comp_rep] for x in (visits, calls, emails))

        # a record's share of its company's contacts: all of them while it is the company's
        # record (address change), its share of the orders when records run side by side
        w3 = 1 - w1 - w2
        share = np.where(rec_j == 0, w1[rec_comp], np.where(rec_j == 1, w2[rec_comp], w3[rec_comp]))
        share = np.where(dup_mode_time[rec_comp] | (k[rec_comp] == 1), 1.0, share)
        return _Coverage(
            reps=reps,
            rec_channel=rec_channel,
            rec_rep=rec_rep,
            rec_share=share,
            visits=visits,
            calls=calls,
            emails=emails,
            stop=stop,
        )

    # ------------------------------------------------------------------ customers
    def addresses(self, n: int, city: np.ndarray) -> dict[str, pa.Array]:
        rng = self.rng
        num = rng.integers(1, 250, n)
        street = pick(W.STREETS, rng.integers(0, len(W.STREETS), n))
        stype = pick(
            W.STREET_TYPES,
            rng.choice(len(W.STREET_TYPES), n, p=[0.3, 0.2, 0.15, 0.1, 0.05, 0.1, 0.05, 0.05]),
        )
        address = join([int_strings(num), street, stype])
        area = pick([c[3] for c in _CITIES], city)
        letters = [chr(c) for c in range(65, 91) if chr(c) not in "CIKMOV"]
        inward = join(
            [
                int_strings(rng.integers(1, 10, n)),
                pick(letters, rng.integers(0, len(letters), n)),
                pick(letters, rng.integers(0, len(letters), n)),
            ],
            "",
        )
        postcode = join([join([area, int_strings(rng.integers(1, 30, n))], ""), inward])
        return {"address": address, "postcode": postcode}

    def contact(self, c: dict[str, np.ndarray], city: np.ndarray) -> dict[str, pa.Array]:
        rng = self.rng
        n = len(city)
        words = [w for v in W.INDUSTRIES.values() for w in v[3]]
        word_idx = c["ind"].astype(np.int64) * 4 + c["word"]
        dom = join([pick(W.STEMS, c["stem"]), pick(words, word_idx, rng.random(n) < 0.6)], "")
        dom = pc.replace_substring(pc.utf8_lower(dom), " ", "")
        tld = pick([".co.uk", ".com", ".uk"], rng.choice(3, n, p=[0.7, 0.25, 0.05]))
        email = join(
            [pick(W.EMAIL_USERS, rng.integers(0, len(W.EMAIL_USERS), n)), join([dom, tld], "")], "@"
        )
        city_code = (np.arange(len(_CITIES)) * 37 + 113) % 900 + 100
        phone = join(
            [
                "01" + "",
                int_strings(city_code[city], 3),
                int_strings(rng.integers(0, 1_000_000, n), 6),
            ],
            "",
        )
        phone = pc.utf8_replace_slice(phone, 5, 5, " ")
        tax = join(["GB", int_strings(rng.integers(100_000_000, 999_999_999, n), 9)], "")
        return {"email": email, "phone": phone, "tax_id": tax}

    def plain_table(
        self, ids: pa.Array, f: dict[str, np.ndarray], nm: dict[str, np.ndarray]
    ) -> pa.Table:
        n = len(ids)
        rng = self.rng
        addr = self.addresses(n, f["city"])
        cont = self.contact(nm, f["city"])
        emp_missing = rng.random(n) < 0.03
        rev_missing = rng.random(n) < 0.08
        none = np.ones(n, bool)
        return pa.table(
            {
                "customer_id": ids,
                "name": self.build_names(nm),
                "address": addr["address"],
                "postcode": addr["postcode"],
                "city": pick([c[0] for c in _CITIES], f["city"]),
                "country": pick(["United Kingdom"], np.zeros(n, np.int32)),
                "lat": floats(np.round(f["lat"], 5)),
                "lon": floats(np.round(f["lon"], 5)),
                "industry": pick(_INDUSTRY_NAMES, f["industry"]),
                "employees": floats(f["employees"], emp_missing),
                "annual_revenue": floats(f["annual_revenue"], rev_missing),
                "region": pick(_REGION_NAMES, f["region"]),
                "rep_id": pa.nulls(n, pa.string()),
                "current_channel": pa.nulls(n, pa.string()),
                "created_date": pa.nulls(n, pa.date32()),
                "payment_terms_days": floats(np.zeros(n), none),
                "parent_id": pa.nulls(n, pa.string()),
                "tax_id": pc.if_else(
                    pa.array(rng.random(n) < 0.7), cont["tax_id"], pa.scalar(None, pa.string())
                ),
                "phone": cont["phone"],
                "email": cont["email"],
            }
        )

    def customer_table(
        self,
        cust_ids: pa.Array,
        rec_comp: np.ndarray,
        rec_j: np.ndarray,
        k: np.ndarray,
        f: dict[str, np.ndarray],
        names: dict[str, np.ndarray],
        dup_mode_time: np.ndarray,
        rec_channel: np.ndarray,
        rec_rep: np.ndarray,
        reps: pa.Table,
        created: np.ndarray,
        cut1: np.ndarray,
        cut2: np.ndarray,
        terms: np.ndarray,
    ) -> pa.Table:
        """The customer master in record order: duplicate records get name variants
        (legal form, '&'/'and', dropped token, branch suffix, case, typo), sometimes a new
        address, abbreviated street or unspaced postcode, and gaps in tax id, phone, email
        and head count."""
        rng, s = self.rng, self.s
        R = len(rec_comp)
        C = len(k)
        sec = rec_j > 0
        # name components per record; secondary records get variants
        rc = {key: v[rec_comp].copy() for key, v in names.items()}
        legal_change = sec & (rng.random(R) < 0.6)
        rc["legal_var"] = np.where(
            legal_change, rc["legal_var"] + 1 + rng.integers(0, 2, R), rc["legal_var"]
        )
        rc["legal_var"] = rc["legal_var"] % np.array([len(x[1]) for x in W.LEGAL])[rc["legal_fam"]]
        rc["use_and"] = sec & (rc["pattern"] == 1) & (rng.random(R) < 0.5)
        rc["drop_common"] = sec & (rng.random(R) < 0.2)
        city_names = [c[0] for c in _CITIES]
        rec_city = f["city"][rec_comp].copy()
        branch_mask = sec & (rng.random(R) < 0.15)
        branch = pc.binary_join_element_wise(
            "(", pick(city_names, rec_city, branch_mask), ")", "", null_handling="emit_null"
        )
        name = self.build_names(rc, branch)
        upper = sec & (rng.random(R) < 0.2)
        lower = sec & ~upper & (rng.random(R) < 0.05)
        name = pc.if_else(pa.array(upper), pc.utf8_upper(name), name)
        name = pc.if_else(pa.array(lower), pc.utf8_lower(name), name)
        typo = sec & (rng.random(R) < 0.35)
        # every secondary record differs somehow: typo when nothing else changed
        plain = (
            sec
            & ~legal_change
            & ~rc["use_and"]
            & ~rc["drop_common"]
            & ~branch_mask
            & ~upper
            & ~lower
        )
        typo |= plain & (rng.random(R) < 0.7)
        ti = np.flatnonzero(typo)
        if len(ti):
            fixed = typos(name.take(pa.array(ti)), rng)
            name = pc.replace_with_mask(name, pa.array(typo), fixed)

        # addresses: company address, secondary records sometimes moved (time split) or
        # with the street type abbreviated
        addr = self.addresses(C, f["city"])
        address = addr["address"].take(pa.array(rec_comp))
        postcode = addr["postcode"].take(pa.array(rec_comp))
        moved = sec & np.where(dup_mode_time[rec_comp], rng.random(R) < 0.7, rng.random(R) < 0.15)
        new_addr = self.addresses(R, rec_city)
        address = pc.if_else(pa.array(moved), new_addr["address"], address)
        postcode = pc.if_else(pa.array(moved), new_addr["postcode"], postcode)
        abbrev = sec & ~moved & (rng.random(R) < 0.4)
        short = address
        for full_w, ab in W.STREET_ABBREV.items():
            short = pc.replace_substring(short, " " + full_w, " " + ab)
        address = pc.if_else(pa.array(abbrev), short, address)
        pc_nospace = sec & ~moved & (rng.random(R) < 0.2)
        postcode = pc.if_else(
            pa.array(pc_nospace), pc.replace_substring(postcode, " ", ""), postcode
        )

        cont = self.contact(names, f["city"])
        phone = cont["phone"].take(pa.array(rec_comp))
        email = cont["email"].take(pa.array(rec_comp))
        tax = cont["tax_id"].take(pa.array(rec_comp))
        null_s = pa.scalar(None, pa.string())
        tax = pc.if_else(pa.array(rng.random(R) < np.where(sec, 0.45, 0.2)), null_s, tax)
        phone = pc.if_else(pa.array(rng.random(R) < np.where(sec, 0.3, 0.05)), null_s, phone)
        email = pc.if_else(pa.array(rng.random(R) < np.where(sec, 0.3, 0.08)), null_s, email)

        # firmographics: secondary records sometimes lack or misstate head count
        emp = f["employees"][rec_comp] * np.where(
            sec & (rng.random(R) < 0.3), np.exp(rng.normal(0, 0.4, R)), 1.0
        )
        emp = np.maximum(1.0, np.round(emp))
        emp_missing = rng.random(R) < np.where(sec, 0.3, 0.03)
        rev_missing = rng.random(R) < np.where(sec, 0.4, 0.08)

        rec_created = np.where(
            rec_j == 0,
            created[rec_comp],
            np.where(
                rec_j == 1, np.nan_to_num(cut1[rec_comp]), np.nan_to_num(cut2[rec_comp], posinf=0)
            ),
        )
        rec_created = np.where(
            dup_mode_time[rec_comp] | (rec_j == 0),
            rec_created,
            created[rec_comp] + rng.integers(0, 400, R),
        )
        rec_created = np.minimum(np.floor(rec_created), self.end).astype(np.int64)

        # parent companies: a few larger companies own some others
        n_child = round(s.parent_share * C)
        parent_of = np.full(C, -1, np.int64)
        if n_child and C > 20:
            big = np.flatnonzero(f["employees"] >= np.quantile(f["employees"], 0.9))
            n_par = max(1, n_child // 3)
            parents = rng.choice(big, size=min(n_par, len(big)), replace=False)
            kids = rng.choice(np.setdiff1d(np.arange(C), parents), size=n_child, replace=False)
            parent_of[kids] = parents[rng.integers(0, len(parents), n_child)]
        rec_first = np.cumsum(k) - k
        par = parent_of[rec_comp]
        parent_id = cust_ids.take(
            pa.array(np.where(par >= 0, rec_first[np.maximum(par, 0)], 0), mask=par < 0)
        )

        return pa.table(
            {
                "customer_id": cust_ids,
                "name": name,
                "address": address,
                "postcode": postcode,
                "city": pick(city_names, rec_city),
                "country": pick(["United Kingdom"], np.zeros(R, np.int32)),
                "lat": floats(np.round(f["lat"][rec_comp], 5)),
                "lon": floats(np.round(f["lon"][rec_comp], 5)),
                "industry": pick(_INDUSTRY_NAMES, f["industry"][rec_comp]),
                "employees": floats(emp, emp_missing),
                "annual_revenue": floats(f["annual_revenue"][rec_comp], rev_missing),
                "region": pick(_REGION_NAMES, f["region"][rec_comp]),
                "rep_id": take_fixed(reps.column("rep_id").combine_chunks(), rec_rep),
                "current_channel": pick(_CHANNELS, rec_channel),
                "created_date": dates(rec_created),
                "payment_terms_days": floats(terms[rec_comp].astype(np.float64)),
                "parent_id": parent_id,
                "tax_id": tax,
                "phone": phone,
                "email": email,
            }
        )
