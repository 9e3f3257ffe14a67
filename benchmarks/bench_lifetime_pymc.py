"""Reference timing: pymc-marketing's BG/NBD MAP fit on the CDNOW sample, against tierwise.

pymc-marketing is heavy (PyMC, PyTensor with a C compiler); it lives in its own virtual
environment, benchmarks/.venv-pymc, made on first use with ``pip install pymc-marketing``.
Its fit runs in a subprocess on the ready CDNOW summary (../shared/data/cdnow): a first fit
(building and compiling the model, as a user meets it) and a second fit of a fresh model
(PyTensor caches compiled code, so this is the warm cost). tierwise's fit is timed here on
the same data. MAP with pymc-marketing's default priors is not exactly maximum likelihood,
so its parameters differ slightly.

Usage::

    .venv/bin/python benchmarks/bench_lifetime_pymc.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _figures import figure

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-pymc"
CDNOW = HERE.parent / ".." / "shared" / "data" / "cdnow" / "cdnow_customers_summary.csv"

PEER = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
t0 = time.perf_counter()
from pymc_marketing.clv import BetaGeoModel
t_import = time.perf_counter() - t0
d = pd.read_csv(sys.argv[1])
data = pd.DataFrame({"customer_id": d["ID"], "frequency": d["frequency"],
                     "recency": d["recency"], "T": d["T"]})
out = {"import_s": t_import}
for run in ("cold", "warm"):
    t0 = time.perf_counter()
    m = BetaGeoModel(data=data)
    m.fit(method="map")
    out[run + "_fit_s"] = time.perf_counter() - t0
post = m.fit_result
out["params"] = {k: float(post[k].values.squeeze()) for k in ("r", "alpha", "a", "b")}
print(json.dumps(out))
"""


def main() -> None:
    if not CDNOW.is_file():
        print(f"skipped: {CDNOW} not found")
        return
    py = VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "pymc-marketing"], check=True)
    res = subprocess.run(
        [str(py), "-c", PEER, str(CDNOW)], check=True, capture_output=True, text=True
    )
    peer = json.loads(res.stdout.strip().splitlines()[-1])

    sys.path.insert(0, str(HERE.parent / "src"))
    import numpy as np
    import pyarrow.csv as pv

    from tierwise.lifetime import BetaGeoModel

    t = pv.read_csv(CDNOW)
    X = np.column_stack([np.asarray(t.column(c)) for c in ("frequency", "recency", "T")])
    BetaGeoModel().fit(X)  # warm the imports
    reps = 20
    t0 = time.perf_counter()
    for _ in range(reps):
        m = BetaGeoModel().fit(X)
    ours = (time.perf_counter() - t0) / reps
    print(
        f"pymc-marketing BG/NBD MAP on CDNOW (2,357 customers): import {peer['import_s']:.1f} s,"
        f" first fit {peer['cold_fit_s']:.2f} s, second fit {peer['warm_fit_s']:.2f} s"
    )
    print(f"  params {peer['params']}")
    print(f"tierwise BG/NBD maximum likelihood on CDNOW: {ours * 1000:.1f} ms per fit")
    print(f"  params {m.params_}  LL {m.log_likelihood_:.4f}")
    print(f"ratio (pymc-marketing second fit / tierwise): {peer['warm_fit_s'] / ours:.0f}x")
    figure("BG/NBD fit on CDNOW", ours, peer["warm_fit_s"], "pymc-marketing MAP (warm)")


if __name__ == "__main__":
    main()
