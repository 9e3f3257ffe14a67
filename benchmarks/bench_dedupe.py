"""Benchmark: deduplicating a customer master with the accounts stage.

Two kinds of master, ``--data``:

- ``demo`` (default): the customer master of ``tierwise demo --customers N`` — duplicate
  companies with the demo's variations, two to four businesses sharing a building, and,
  at a million records, a name vocabulary small enough that thousands of records share a
  name or an e-mail domain (the blocks that stopped the stage before it tightened them by
  itself). The demo is generated once in a child process and kept in ``--cache``.
- ``synthetic``: ``--records`` company records generated here (vectorised, NumPy +
  Arrow) in which about ``--dup-share`` of the companies are entered two or three times
  with the usual variations (legal form spelled differently, capitals, a dropped letter, a
  second site's address, a missing or differently written phone, no tax id).

Then :func:`tierwise.accounts.resolve_accounts` runs on ``--threads`` engine threads (pinned
to as many CPU cores where the OS allows), with the engine's memory capped at
``--memory-limit`` (as ``[run] memory_limit`` would).

Baseline, measured in the same run: the normalisation step alone (``normalise_customers``
materialised in the engine), the part every record goes through once; the full stage is
printed as a ratio of it. Peak memory is the process's peak resident set size (Python,
Arrow and DuckDB together, the master read from Parquet included). Quality against the
planted truth is printed too: pairwise precision and recall, and (demo) the pairs of
different companies in one building that were merged (must be 0 where names disagree).

Peer, in its own process on the same master (``--no-peer`` to skip): Splink used plainly,
as its tutorial does it — lower-cased fields, blocking on postcode and on name, Jaro-Winkler
on the name, Levenshtein on the address, exact postcode, city and phone, u by random
sampling, m by EM on two blockings, predictions clustered at a match probability of 0.9 —
with its time, peak memory, precision and recall against the same truth.

    .venv/bin/python benchmarks/bench_dedupe.py --records 1000000
    .venv/bin/python benchmarks/bench_dedupe.py --data synthetic --records 1000000
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tierwise.accounts import resolve_accounts
from tierwise.accounts.normalise import normalise_customers
from tierwise.engine import Engine
from tierwise.settings import AccountSettings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _figures import figure, peak_mib

SYLLABLES = (
    "ar", "bel", "cor", "dan", "el", "fal", "gar", "hol", "in", "jor", "kel", "lan", "mor",
    "nor", "ol", "pen", "quin", "ros", "sel", "tor", "ul", "ver", "wil", "xan", "yor", "zel",
    "brook", "field", "ford", "ham", "ley", "ton", "wick", "worth", "by", "dale",
)  # fmt: skip
TRADES = (
    "Engineering", "Foods", "Haulage", "Dental", "Building", "Construction", "Cleaning",
    "Medical", "Plumbing", "Electrical", "Printing", "Motors", "Logistics", "Catering",
    "Pharmacy", "Textiles", "Plastics", "Metals", "Timber", "Glass", "Packaging", "Farms",
    "Brewing", "Bakery", "Opticians", "Veterinary", "Software", "Consulting", "Security",
    "Recruitment", "Furniture", "Flooring", "Roofing", "Scaffolding", "Paints", "Tools",
)  # fmt: skip
GENERIC = ("", "", "", "Group", "Holdings", "International", "Services", "Solutions")
LEGAL = (
    ("Ltd", "Limited", "LTD", "Ltd."),
    ("PLC", "plc", "Public Limited Company"),
    ("GmbH", "GMBH", "G.m.b.H."),
    ("S.R.L.", "SRL", "S.r.l."),
    ("Inc.", "Inc", "Incorporated"),
    ("LLP", "L.L.P."),
    ("SARL", "S.A.R.L."),
    ("B.V.", "BV"),
)  # fmt: skip
STREETS = ("High", "Station", "Church", "Mill", "York", "Market", "Park", "King", "Queen", "Bridge")
STREET_TYPES = ("Street", "Road", "Lane", "Avenue", "Way", "Industrial Estate", "Business Park")
FREE_MAIL = ("gmail.com", "hotmail.com", "outlook.com")


def _pick(rng: np.random.Generator, options: tuple[str, ...], n: int) -> pa.Array:
    return pa.array(
        np.asarray(options, dtype=object)[rng.integers(0, len(options), n)], pa.string()
    )


def _join(*parts: pa.Array | str, sep: str = " ") -> pa.Array:
    out = pc.binary_join_element_wise(*parts, sep)
    return pc.utf8_trim_whitespace(pc.replace_substring_regex(out, r"\s+", " "))


def synthetic_customers(n_records: int, dup_share: float, seed: int) -> tuple[pa.Table, pa.Array]:
    """Company records with planted duplicates, and each record's true company."""
    rng = np.random.default_rng(seed)
    # how many records each company has: 1, or 2-3 for the duplicated share
    n_comp = int(n_records / (1 + dup_share * 1.4))
    copies = np.where(rng.random(n_comp) < dup_share, rng.integers(2, 4, n_comp), 1)
    company = np.repeat(np.arange(n_comp), copies)[:n_records]
    n = company.size
    first_copy = np.r_[True, company[1:] != company[:-1]]

    # company-level attributes (drawn once per company, then repeated)
    s = np.asarray(SYLLABLES, dtype=object)
    # three syllables: 46,656 first words, and a second word for 40% of companies, so
    # two distinct companies rarely share a name (as in a real register)
    word = (
        s[rng.integers(0, len(s), n_comp)]
        + s[rng.integers(0, len(s), n_comp)]
        + s[rng.integers(0, len(s), n_comp)]
    )
    word = np.char.capitalize(word.astype(str)).astype(object)
    second = s[rng.integers(0, len(s), n_comp)] + s[rng.integers(0, len(s), n_comp)]
    second = np.where(rng.random(n_comp) < 0.4, np.char.capitalize(second.astype(str)), "")
    trade = np.asarray(TRADES, dtype=object)[rng.integers(0, len(TRADES), n_comp)]
    generic = np.asarray(GENERIC, dtype=object)[rng.integers(0, len(GENERIC), n_comp)]
    family = rng.choice(len(LEGAL), n_comp, p=[0.5, 0.05, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05])
    n_city = 400
    city_id = rng.zipf(1.3, n_comp) % n_city
    city = pa.array([f"{w}ton" for w in np.char.capitalize(
        (s[np.arange(n_city) % len(s)] + s[(np.arange(n_city) // len(s)) % len(s)]).astype(str)
    )])  # fmt: skip
    house = rng.integers(1, 300, n_comp)
    street = rng.integers(0, len(STREETS) * len(STREET_TYPES), n_comp)
    district = rng.integers(1, 30, n_comp)
    unit = rng.integers(0, 1000, n_comp)
    phone = rng.integers(100_000_000, 999_999_999, n_comp)
    tax = rng.integers(100_000_000, 999_999_999, n_comp)
    free = rng.random(n_comp) < 0.2

    c = company
    # record-level variation for duplicates
    dup = ~first_copy
    legal_alt = rng.integers(0, 4, n)
    legal = _legal_vectorised(family[c], np.where(dup, legal_alt, 0))
    name = _join(
        pa.array(word[c], pa.string()),
        pa.array(second[c], pa.string()),
        pa.array(trade[c], pa.string()),
        pa.array(generic[c], pa.string()),
        pa.array(legal, pa.string()),
    )
    upper = dup & (rng.random(n) < 0.2)
    name = pc.if_else(pa.array(upper), pc.utf8_upper(name), name)
    typo = dup & (rng.random(n) < 0.15)
    dropped = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(name, 0, 2), pc.utf8_slice_codeunits(name, 3), ""
    )
    name = pc.if_else(pa.array(typo), dropped, name)
    branch = dup & (rng.random(n) < 0.1)
    name = pc.if_else(
        pa.array(branch),
        _join(name, pc.binary_join_element_wise("(", city.take(pa.array(city_id[c])), ")", "")),
        name,
    )

    other_site = dup & (rng.random(n) < 0.3)
    h = np.where(other_site, rng.integers(1, 300, n), house[c])
    st = np.where(other_site, rng.integers(0, len(STREETS) * len(STREET_TYPES), n), street[c])
    names_st = np.asarray(STREETS, dtype=object)[st % len(STREETS)]
    types_st = np.asarray(STREET_TYPES, dtype=object)[st // len(STREETS)]
    short_type = dup & (rng.random(n) < 0.3)
    types_st = np.where(short_type & (types_st == "Street"), "St", types_st)
    types_st = np.where(short_type & (types_st == "Road"), "Rd", types_st)
    address = _join(
        pa.array(h.astype(str)), pa.array(names_st, pa.string()), pa.array(types_st, pa.string())
    )
    cty = city.take(pa.array(city_id[c]))
    d = np.where(other_site, rng.integers(1, 30, n), district[c])
    u = np.where(other_site, rng.integers(0, 1000, n), unit[c])
    area = pc.utf8_upper(pc.utf8_slice_codeunits(cty, 0, 2))
    postcode = _join(
        pc.binary_join_element_wise(area, pa.array(d.astype(str)), ""),
        _postcode_tail(u),
    )
    ph = phone[c].astype(str)
    phone_txt = pa.array(np.char.add("0", ph.astype(str)))
    intl = dup & (rng.random(n) < 0.3)
    phone_txt = pc.if_else(
        pa.array(intl), pc.binary_join_element_wise("+44 ", pa.array(ph), ""), phone_txt
    )
    phone_txt = pc.if_else(
        pa.array(dup & (rng.random(n) < 0.3)), pa.scalar(None, pa.string()), phone_txt
    )
    # a company's own domain is its own, even when another company shares its name
    tag = pa.array(np.char.mod("%x", np.arange(n_comp))[c])
    domain = pc.binary_join_element_wise(
        pc.utf8_lower(pa.array(word[c], pa.string())),
        pc.utf8_lower(pa.array(trade[c], pa.string())),
        tag,
        ".co.uk",
        "",
    )
    domain = pc.if_else(pa.array(free[c]), _pick(rng, FREE_MAIL, n), domain)
    email = pc.binary_join_element_wise("info@", domain, "")
    tax_txt = pc.binary_join_element_wise("GB", pa.array(tax[c].astype(str)), "")
    tax_txt = pc.if_else(pa.array(rng.random(n) < 0.5), pa.scalar(None, pa.string()), tax_txt)
    ids = pa.array(np.char.add("C", np.char.zfill(np.arange(1, n + 1).astype(str), 8)))
    order = rng.permutation(n)  # duplicates are not next to each other in a real master
    table = pa.table(
        {
            "customer_id": ids,
            "name": name.take(pa.array(order)),
            "address": address.take(pa.array(order)),
            "postcode": postcode.take(pa.array(order)),
            "city": cty.take(pa.array(order)),
            "phone": phone_txt.take(pa.array(order)),
            "email": email.take(pa.array(order)),
            "tax_id": tax_txt.take(pa.array(order)),
        }
    )
    return table, pa.array(company[order])


def _legal_vectorised(family: np.ndarray, alt: np.ndarray) -> np.ndarray:
    width = max(len(f) for f in LEGAL)
    grid = np.array([[f[a % len(f)] for a in range(width)] for f in LEGAL], dtype=object)
    return grid[family, alt % width]


def _postcode_tail(u: np.ndarray) -> pa.Array:
    digits = (u // 100).astype(str)
    a = np.asarray([chr(65 + i) for i in range(26)], dtype=object)
    return pc.binary_join_element_wise(
        pa.array(digits),
        pa.array(a[(u // 10) % 26], pa.string()),
        pa.array(a[u % 26], pa.string()),
        "",
    )


def _pairs_in_groups(keys: list[pa.Array]) -> int:
    t = pa.table({f"k{i}": k for i, k in enumerate(keys)})
    n = t.group_by(t.column_names).aggregate([([], "count_all")])["count_all"]
    n = np.asarray(n.to_numpy(), dtype=np.int64)
    return int((n * (n - 1) // 2).sum())


def _rss_mib() -> float:
    return peak_mib()


_DEMO = """
import sys
import pyarrow.parquet as pq
from tierwise.demo import generate
d = generate(n_customers=int(sys.argv[1]), seed=int(sys.argv[2]))
pq.write_table(d.customers, sys.argv[3])
pq.write_table(d.truth.select(["customer_id", "company_id", "building_id"]), sys.argv[4])
"""


def demo_customers(
    n_records: int, seed: int, cache: Path
) -> tuple[pa.Table, pa.Array, pa.Array | None]:
    """The demo's customer master, its true companies and buildings (generated once)."""
    cache.mkdir(parents=True, exist_ok=True)
    cust = cache / f"demo_{n_records}_{seed}_customers.parquet"
    truth = cache / f"demo_{n_records}_{seed}_truth.parquet"
    if not (cust.is_file() and truth.is_file()):
        # in a child process, so that generating does not count in this one's peak memory
        subprocess.run(
            [sys.executable, "-c", _DEMO, str(n_records), str(seed), str(cust), str(truth)],
            check=True,
        )
    customers = pq.read_table(cust)
    t = pq.read_table(truth)
    at = pc.index_in(customers["customer_id"], value_set=t["customer_id"])
    return customers, t["company_id"].take(at), t["building_id"].take(at)


_SPLINK_PLAIN = """
import json, resource, sys, time
import duckdb, pyarrow.parquet as pq
t0 = time.perf_counter()
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
import splink.comparison_library as cl
con = duckdb.connect()
con.execute("SET threads = " + sys.argv[2])
con.register("raw", pq.read_table(sys.argv[1]))
df = con.sql(
    "SELECT customer_id, lower(trim(name)) AS name, lower(trim(address)) AS address, "
    "upper(replace(postcode, ' ', '')) AS postcode, lower(trim(city)) AS city, "
    "regexp_replace(phone, '[^0-9]', '', 'g') AS phone FROM raw"
).arrow().read_all().to_pandas()
settings = SettingsCreator(
    link_type="dedupe_only",
    unique_id_column_name="customer_id",
    comparisons=[
        cl.JaroWinklerAtThresholds("name", [0.95, 0.88]),
        cl.LevenshteinAtThresholds("address", [1, 3]),
        cl.ExactMatch("postcode"),
        cl.ExactMatch("city"),
        cl.ExactMatch("phone"),
    ],
    blocking_rules_to_generate_predictions=[block_on("postcode"), block_on("name")],
)
db_api = DuckDBAPI(connection=duckdb.connect())
linker = Linker(db_api.register(df), settings)
linker.training.estimate_probability_two_random_records_match(
    [block_on("name", "postcode")], recall=0.8
)
linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
linker.training.estimate_parameters_using_expectation_maximisation(block_on("name"))
pred = linker.inference.predict(threshold_match_probability=0.5)
clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, 0.9)
out = clusters.as_pandas_dataframe()[["customer_id", "cluster_id"]]
secs = time.perf_counter() - t0
out.to_parquet(sys.argv[3])
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": secs, "peak_mib": rss}))
"""


def splink_plain(customers: Path, threads: int, out: Path) -> dict[str, float]:
    """Splink used plainly on the master (a child process): its time and peak memory."""
    import json

    proc = subprocess.run(
        [sys.executable, "-c", _SPLINK_PLAIN, str(customers), str(threads), str(out)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"plain Splink failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", choices=["demo", "synthetic"], default="demo")
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument(
        "--dup-share", type=float, default=0.1, help="share of companies entered 2-3 times"
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-limit", default="4GB", help="the engine's memory cap")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "tierwise-bench",
        help="folder the generated demo master is kept in",
    )
    ap.add_argument("--no-peer", action="store_true", help="skip plain Splink")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))[: args.threads]
        os.sched_setaffinity(0, cpus)

    t0 = time.perf_counter()
    building = None
    if args.data == "demo":
        customers, truth, building = demo_customers(args.records, args.seed, args.cache)
    else:
        customers, truth = synthetic_customers(args.records, args.dup_share, args.seed)
    t_gen = time.perf_counter() - t0
    rss_data = _rss_mib()
    print(f"{args.data} master: records {customers.num_rows:,}, "
          f"companies {pc.count_distinct(truth).as_py():,}, ready in {t_gen:.1f} s; "
          f"peak RSS so far {rss_data:,.0f} MiB")  # fmt: skip

    settings = AccountSettings()
    engine = Engine(threads=args.threads, memory_limit=args.memory_limit)
    t0 = time.perf_counter()
    t = engine.from_arrow(customers)
    norm = engine.materialize(normalise_customers(t, settings))
    engine.count(norm)
    t_base = time.perf_counter() - t0
    engine.release(norm)
    print(
        f"baseline: load + normalise {t_base:.2f} s ({customers.num_rows / t_base:,.0f} records/s)"
    )

    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_SELF)
    result = resolve_accounts(customers, settings, engine=engine, seed=args.seed)
    t_full = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    rss = _rss_mib()
    engine.close()

    m = result.mapping
    at = pc.index_in(m["customer_id"], value_set=customers["customer_id"])
    company = truth.take(at)
    tp = _pairs_in_groups([m["account_id"], company])
    precision = tp / max(_pairs_in_groups([m["account_id"]]), 1)
    recall = tp / max(_pairs_in_groups([company]), 1)
    s = result.summary
    print(f"resolve_accounts: {t_full:.1f} s on {args.threads} threads "
          f"({customers.num_rows / t_full:,.0f} records/s); CPU time {cpu:.1f} s "
          "(all threads; on a busy machine the figure to compare)")  # fmt: skip
    print(f"ratio to baseline (normalisation): {t_full / t_base:.1f}x")
    print(f"peak RSS {rss:,.0f} MiB (master alone {rss_data:,.0f} MiB); "
          f"engine memory limit {args.memory_limit}")  # fmt: skip
    print(f"pairs compared {s['n_candidate_pairs']:,}, "
          f"scored >= review_lower or merged by a rule {s['n_pairs_scored']:,}, "
          f"held back by the guards {s['n_held_back']:,}, "
          f"accounts {s['n_accounts']:,} ({s['n_merged_accounts']:,} merged), "
          f"review queue {s['n_review_pairs']:,}")  # fmt: skip
    print(f"method: {s['method']}; {result.headline}")
    for w in result.warnings:
        print(f"note: {w}")
    print(f"pairwise precision {precision:.3f}, recall {recall:.3f} against planted duplicates")
    figure(
        "duplicate records (resolve_accounts) vs load + normalise",
        t_full,
        t_base,
        "load + normalise (one pass)",
        note=f"{customers.num_rows:,} records; precision {precision:.3f}, recall {recall:.3f}",
    )
    if building is not None:
        b = building.take(at)
        keep = pc.is_valid(b)
        b, c, a = (x.filter(keep) for x in (b, company, m["account_id"]))
        shared = _pairs_in_groups([b]) - _pairs_in_groups([b, c])
        merged = _pairs_in_groups([b, a]) - _pairs_in_groups([b, a, c])
        print(f"businesses sharing a building: {shared:,} pairs of different companies, "
              f"{merged:,} merged")  # fmt: skip
    if args.no_peer:
        return
    with tempfile.TemporaryDirectory() as tmp:
        master = Path(tmp) / "master.parquet"
        pq.write_table(customers, master)
        peer = splink_plain(master, args.threads, Path(tmp) / "clusters.parquet")
        clusters = pq.read_table(Path(tmp) / "clusters.parquet")
    at = pc.index_in(clusters["customer_id"], value_set=customers["customer_id"])
    company = truth.take(at)
    cid = pc.cast(clusters["cluster_id"], pa.string())
    tp = _pairs_in_groups([cid, company])
    p_peer = tp / max(_pairs_in_groups([cid]), 1)
    r_peer = tp / max(_pairs_in_groups([company]), 1)
    print(f"plain Splink: {peer['seconds']:.1f} s, peak RSS {peer['peak_mib']:,.0f} MiB, "
          f"precision {p_peer:.3f}, recall {r_peer:.3f}")  # fmt: skip
    figure(
        "duplicate records (resolve_accounts) vs Splink used plainly",
        t_full,
        peer["seconds"],
        "Splink 5, tutorial settings",
        note=f"{customers.num_rows:,} records; tierwise precision {precision:.3f} recall "
        f"{recall:.3f}; Splink precision {p_peer:.3f} recall {r_peer:.3f}",
    )


if __name__ == "__main__":
    main()
