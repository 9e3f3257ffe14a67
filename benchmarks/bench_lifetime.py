"""Benchmark: the lifetime stage in tierwise against lifetimes 0.11.3 used at its best.

The stage: the per-customer summary from transaction lines, BG/NBD and Gamma-Gamma fits,
P(alive), expected purchases over 52 weeks and 36-month CLV for every customer.

- tierwise: ``rfm_summary`` in the engine (DuckDB via Ibis, reading the Parquet file, so
  its I/O is inside the timing), ``BetaGeoModel`` and ``GammaGammaModel`` (fitted on
  distinct rows with weights), ``p_alive``, ``expected_purchases``,
  ``customer_lifetime_value``. With ``--choice`` also the stage's model choice
  (``choose_transaction_model``: MBG/NBD and Pareto/NBD fitted as well, every candidate
  scored on the built-in holdout), timed apart from the total compared with lifetimes.
- lifetimes 0.11.3, in its own virtual environment (benchmarks/.venv-lifetimes, created on
  first use with ``pip install lifetimes==0.11.3 pyarrow``), run in a subprocess on the same
  Parquet file, loaded into pandas *before* its clock starts:
  ``summary_data_from_transaction_data``,
  ``BetaGeoFitter.fit`` and ``GammaGammaFitter.fit`` with ``weights`` on the distinct
  triples / pairs, and its prediction functions (``conditional_probability_alive``,
  ``conditional_expected_number_of_purchases_up_to_time``, ``customer_lifetime_value``'s
  discounting) evaluated on the distinct triples and mapped back to customers - the
  fastest way to use its API.

Both report total log-likelihoods on the original time scale; they must agree to 1e-6
relative. The speed ratio is printed.

Usage::

    .venv/bin/python benchmarks/bench_lifetime.py --lines 50000000 --customers 1000000
    .venv/bin/python benchmarks/bench_lifetime.py --lines 5000000 --customers 100000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _figures import figure

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-lifetimes"
DATA = HERE / "_data"
START = dt.date(2022, 1, 1)
DAYS = 3 * 365
AS_OF = START + dt.timedelta(days=DAYS - 1)
HORIZON_WEEKS = 52.0
CLV_MONTHS = 36
DISCOUNT_YEARLY = 0.10


# ---------------------------------------------------------------------------------------
# synthetic data: BG/NBD buying in days, several lines per purchase day


def make_data(lines: int, customers: int, seed: int) -> Path:
    """Write (once) a Parquet file of about ``lines`` transaction lines."""
    DATA.mkdir(exist_ok=True)
    path = DATA / f"lifetime_{lines}_{customers}_{seed}.parquet"
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    n = customers
    first = rng.integers(0, DAYS, n)
    T = (DAYS - 1 - first).astype(np.float64)  # days observed after the first purchase
    lam = rng.gamma(0.6, 1 / 20.0, n)  # purchases per day while alive (mean 0.03)
    p = rng.beta(0.8, 6.0, n)
    k = rng.poisson(lam * T)
    d = rng.geometric(p)
    x = np.minimum(k, d)
    t_x = np.where(x > 0, np.floor(T * rng.beta(np.maximum(x, 1), k - x + 1)), 0)
    # purchase days: the first, the last repeat at t_x, the others uniform before it
    n_days = x + 1
    cust = np.repeat(np.arange(n), n_days)
    pos = np.arange(len(cust)) - np.repeat(np.cumsum(n_days) - n_days, n_days)
    offset = np.where(
        pos == 0, 0, np.where(pos == np.repeat(x, n_days), np.repeat(t_x, n_days), 0)
    ).astype(np.int64)
    middle = (pos > 0) & (pos < np.repeat(x, n_days))
    offset[middle] = np.floor(rng.random(middle.sum()) * np.repeat(t_x, n_days)[middle])
    day = np.repeat(first, n_days) + offset
    # lines per purchase day: 1 + Poisson, scaled to the requested total
    per_day = max(lines / len(day) - 1.0, 0.0)
    n_lines = 1 + rng.poisson(per_day, len(day))
    line_cust = np.repeat(cust, n_lines)
    line_day = np.repeat(day, n_lines)
    spend = rng.gamma(3.0, 1 / rng.gamma(4.0, 1 / 60.0, n))  # customer-level mean spend
    revenue = np.round(rng.gamma(2.0, np.repeat(spend[cust], n_lines) / 2.0), 2)
    ids = pc.binary_join_element_wise(
        "C", pc.utf8_lpad(pc.cast(pa.array(line_cust), pa.string()), 8, "0"), ""
    )
    dates = pa.array(np.datetime64(START, "D") + line_day.astype("timedelta64[D]"), pa.date32())
    table = pa.table(
        {
            "customer_id": ids,
            "date": dates,
            "revenue": revenue,
            "is_return": pa.array(np.zeros(len(line_day), bool)),
            "is_cancel": pa.array(np.zeros(len(line_day), bool)),
        }
    )
    pq.write_table(table, path, row_group_size=1_000_000)
    return path


# ---------------------------------------------------------------------------------------
# tierwise


def run_tierwise(path: Path, *, choice: bool = False) -> dict:
    sys.path.insert(0, str(HERE.parent / "src"))
    from tierwise.engine import Engine
    from tierwise.lifetime import (
        BetaGeoModel,
        GammaGammaModel,
        choose_transaction_model,
        customer_lifetime_value,
        rfm_summary,
    )
    from tierwise.settings import LifetimeSettings

    eng = Engine()
    times = {}
    t0 = time.perf_counter()
    tx = eng.read_parquet(path, with_row_numbers=False)
    s = rfm_summary(tx, AS_OF, engine=eng, time_unit="weeks")
    t1 = time.perf_counter()
    times["summary"] = t1 - t0
    bg = BetaGeoModel().fit(s)
    t2 = time.perf_counter()
    times["bgnbd_fit"] = t2 - t1
    gg = GammaGammaModel().fit(s)
    t3 = time.perf_counter()
    times["gamma_gamma_fit"] = t3 - t2
    p_alive = bg.p_alive(s)
    expected = bg.expected_purchases(s, HORIZON_WEEKS)
    eov = gg.expected_order_value(s)
    clv = customer_lifetime_value(
        bg,
        s,
        eov,
        horizon_months=CLV_MONTHS,
        discount_rate=DISCOUNT_YEARLY,
        days_per_unit=7.0,
    )
    t4 = time.perf_counter()
    times["predictions"] = t4 - t3
    times["total"] = t4 - t0
    if choice:
        # the stage's model choice on top: MBG/NBD and Pareto/NBD fitted too, and each
        # candidate refitted on the calibration period and scored on the 180-day holdout
        cfg = LifetimeSettings()
        picked = choose_transaction_model(s, tx, AS_OF, cfg, engine=eng)
        times["model_choice"] = time.perf_counter() - t4
        print(f"  chosen: {picked.reason}")
    eng.close()
    return {
        "times": times,
        "n_customers": int(s.num_rows),
        "n_distinct_triples": bg.n_distinct_,
        "bgnbd": bg.params_,
        "bgnbd_ll": bg.log_likelihood_,
        "gamma_gamma": gg.params_,
        "gamma_gamma_ll": gg.log_likelihood_,
        "p_alive_sum": float(p_alive.sum()),
        "expected_sum": float(expected.sum()),
        "clv_sum": float(clv.sum()),
    }


# ---------------------------------------------------------------------------------------
# lifetimes, in its own venv

PEER = r"""
import json, sys, time, warnings
import numpy as np, pandas as pd, pyarrow.parquet as pq
warnings.filterwarnings("ignore")
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data, _customer_lifetime_value
path, as_of = sys.argv[1], sys.argv[2]
horizon, months, yearly = float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
df = pq.read_table(path, columns=["customer_id", "date", "revenue"]).to_pandas()
df["date"] = pd.to_datetime(df["date"])
times = {}
t0 = time.perf_counter()
s = summary_data_from_transaction_data(df, "customer_id", "date", "revenue",
        observation_period_end=as_of, freq="D", freq_multiplier=7)
t1 = time.perf_counter(); times["summary"] = t1 - t0
trip = s.groupby(["frequency", "recency", "T"]).size().rename("w").reset_index()
bgf = BetaGeoFitter().fit(trip["frequency"], trip["recency"], trip["T"], weights=trip["w"])
t2 = time.perf_counter(); times["bgnbd_fit"] = t2 - t1
rep = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
pairs = rep.groupby(["frequency", "monetary_value"]).size().rename("w").reset_index()
ggf = GammaGammaFitter().fit(pairs["frequency"], pairs["monetary_value"], weights=pairs["w"])
t3 = time.perf_counter(); times["gamma_gamma_fit"] = t3 - t2
# predictions on the distinct triples, mapped back to customers
f, r, T = trip["frequency"], trip["recency"], trip["T"]
trip["p_alive"] = bgf.conditional_probability_alive(f, r, T)
trip["expected"] = bgf.conditional_expected_number_of_purchases_up_to_time(horizon, f, r, T)
monthly = (1 + yearly) ** (1 / 12) - 1
ones = pd.Series(np.ones(len(trip)), index=trip.index)
trip["disc"] = _customer_lifetime_value(bgf, f, r, T, ones, time=months,
        discount_rate=monthly, freq="W").values
per = s.reset_index().merge(trip, on=["frequency", "recency", "T"], how="left")
eov = ggf.conditional_expected_average_profit(per["frequency"], per["monetary_value"])
clv = per["disc"] * eov
t4 = time.perf_counter(); times["predictions"] = t4 - t3; times["total"] = t4 - t0
W = trip["w"].to_numpy(float)
bg_ll = -BetaGeoFitter._negative_log_likelihood(np.log(bgf.params_.values), f.values, r.values,
        T.values, W, 0.0) * W.sum()
Wg = pairs["w"].to_numpy(float)
gg_ll = -GammaGammaFitter._negative_log_likelihood(np.log(ggf.params_.values),
        pairs["frequency"].values, pairs["monetary_value"].values, Wg, 0.0) * Wg.sum()
print(json.dumps({"times": times, "n_customers": int(len(s)), "n_distinct_triples": int(len(trip)),
    "bgnbd": dict(bgf.params_), "bgnbd_ll": float(bg_ll),
    "gamma_gamma": {"p": ggf.params_["p"], "q": ggf.params_["q"], "gamma": ggf.params_["v"]},
    "gamma_gamma_ll": float(gg_ll), "p_alive_sum": float(per["p_alive"].sum()),
    "expected_sum": float(per["expected"].sum()), "clv_sum": float(clv.sum())}))
"""


def ensure_venv() -> Path:
    py = VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(py), "-m", "pip", "install", "-q", "lifetimes==0.11.3", "pyarrow"], check=True
        )
    return py


def run_peer(path: Path) -> dict:
    py = ensure_venv()
    out = subprocess.run(
        [
            str(py),
            "-c",
            PEER,
            str(path),
            AS_OF.isoformat(),
            str(HORIZON_WEEKS),
            str(CLV_MONTHS),
            str(DISCOUNT_YEARLY),
        ],
        check=True,
        capture_output=True,
        text=True,
        # its best: single-threaded BLAS (threads only slow its small BFGS steps down)
        env={
            **os.environ,
            "PYTHONWARNINGS": "ignore",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
        },
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=50_000_000)
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--skip-peer", action="store_true", help="time tierwise only")
    ap.add_argument(
        "--choice",
        action="store_true",
        help="also time the model choice (three candidates and the holdout; not in the total)",
    )
    args = ap.parse_args()

    t = time.perf_counter()
    path = make_data(args.lines, args.customers, args.seed)
    rows = pq.ParquetFile(path).metadata.num_rows
    print(
        f"data: {path.name}: {rows:,} lines, {args.customers:,} customers "
        f"({time.perf_counter() - t:.1f} s to make or find)"
    )
    ours = run_tierwise(path, choice=args.choice)
    print(
        f"tierwise : {ours['n_customers']:,} customers, {ours['n_distinct_triples']:,} distinct "
        "triples"
    )
    for k, v in ours["times"].items():
        print(f"  {k:16s} {v:8.3f} s")
    print(f"  BG/NBD {ours['bgnbd']}  LL {ours['bgnbd_ll']:.6f}")
    print(f"  Gamma-Gamma {ours['gamma_gamma']}  LL {ours['gamma_gamma_ll']:.6f}")
    if args.skip_peer:
        return
    peer = run_peer(path)
    print(f"lifetimes 0.11.3 : {peer['n_customers']:,} customers")
    for k, v in peer["times"].items():
        print(f"  {k:16s} {v:8.3f} s")
    print(f"  BG/NBD {peer['bgnbd']}  LL {peer['bgnbd_ll']:.6f}")
    print(f"  Gamma-Gamma {peer['gamma_gamma']}  LL {peer['gamma_gamma_ll']:.6f}")

    def rel(a: float, b: float) -> float:
        return abs(a - b) / abs(b)

    print("agreement (relative):")
    checks = {
        "BG/NBD log-likelihood": rel(ours["bgnbd_ll"], peer["bgnbd_ll"]),
        "Gamma-Gamma log-likelihood": rel(ours["gamma_gamma_ll"], peer["gamma_gamma_ll"]),
        "sum of P(alive)": rel(ours["p_alive_sum"], peer["p_alive_sum"]),
        "sum of expected purchases": rel(ours["expected_sum"], peer["expected_sum"]),
        "sum of CLV (month 4.348 vs 4.345 weeks)": rel(ours["clv_sum"], peer["clv_sum"]),
    }
    for k, v in checks.items():
        print(f"  {k:42s} {v:.2e}")
    ll_ok = checks["BG/NBD log-likelihood"] <= 1e-6 and checks["Gamma-Gamma log-likelihood"] <= 1e-6
    ratio = peer["times"]["total"] / ours["times"]["total"]
    print(f"log-likelihoods equal to 1e-6 relative: {'yes' if ll_ok else 'NO'}")
    print(
        f"stage speed-up, lifetimes / tierwise: {ratio:.1f}x "
        f"({peer['times']['total']:.2f} s / {ours['times']['total']:.2f} s)"
    )
    fit_ratio = (peer["times"]["bgnbd_fit"] + peer["times"]["gamma_gamma_fit"]) / (
        ours["times"]["bgnbd_fit"] + ours["times"]["gamma_gamma_fit"]
    )
    print(f"fits only (BG/NBD + Gamma-Gamma): {fit_ratio:.1f}x")
    figure(
        "lifetime summary, fits and CLV vs lifetimes",
        ours["times"]["total"],
        peer["times"]["total"],
        "lifetimes 0.11.3 (weighted)",
        note=f"{rows:,} lines; log-likelihoods equal: {'yes' if ll_ok else 'NO'}",
    )


if __name__ == "__main__":
    main()
