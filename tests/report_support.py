"""Output folders for the report, plan, CRM export and dashboard tests.

A small demo run (``tierwise.demo.generate`` → ``write_demo`` → ``run_pipeline``, 500 customer
records) whose customer master carries two hostile names, then — for the stages not yet in
the pipeline (segments, coverage, cross-sell, terms) — small hand-made tables under the
output contract's file and column names, derived from the run's own figures.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tierwise.io.outputs import write_csv, write_parquet

SCRIPT_NAME = "<script>alert(1)</script>"
FORMULA_NAME = '=HYPERLINK("http://x","y")'


def demo_run(folder: Path, n_customers: int = 500) -> Path:
    """Run the pipeline on a small demo with two hostile customer names; the output folder."""
    from tierwise.demo import generate
    from tierwise.io.demo_files import write_demo
    from tierwise.pipeline import run_pipeline

    paths = write_demo(generate(n_customers=n_customers, seed=7), folder / "data")
    customers = pq.read_table(paths["customers"])
    names = customers.column("name").to_pylist()
    # the last two records: far from the front of the id order, unlikely to be merged
    names[-1] = SCRIPT_NAME
    names[-2] = FORMULA_NAME
    customers = customers.set_column(
        customers.column_names.index("name"), "name", pa.array(names, pa.string())
    )
    pq.write_table(customers, paths["customers"])
    inputs = {
        k: v
        for k, v in paths.items()
        if k in ("transactions", "customers", "activities", "payments", "prospects", "reps")
    }
    run_pipeline(inputs, out_dir=folder / "out")
    return folder / "out"


def _write(out: Path, stem: str, t: pa.Table) -> None:
    write_csv(t, out / f"{stem}.csv")
    write_parquet(t, out / f"{stem}.parquet")


#: the stages that decide (as opposed to those that measure) and what they write
DECIDING_STAGES = ("segments", "coverage", "crosssell", "terms")


def without_deciding_stages(src: Path, dst: Path) -> Path:
    """A copy of ``src`` as a run without the deciding stages would have left it: their
    tables, customer columns and manifest blocks removed."""
    import json

    from tierwise import registry

    shutil.copytree(src, dst)
    names = {s.name for s in registry.stages()}
    for stage in (registry.get(n) for n in DECIDING_STAGES if n in names):
        for stem in stage.tables:
            for ext in ("csv", "parquet"):
                (dst / f"{stem}.{ext}").unlink(missing_ok=True)
        c = pq.read_table(dst / "customers.parquet")
        c = c.drop_columns([d.name for d in stage.columns if d.name in c.column_names])
        _write(dst, "customers", c)
        m = json.loads((dst / "manifest.json").read_text(encoding="utf-8"))
        m.pop(stage.name, None)
        (dst / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    return dst


def add_planned_stages(src: Path, dst: Path) -> Path:
    """A copy of ``src`` with hand-made segments, coverage, cross-sell and terms outputs."""
    from tierwise.segments import abc_classes

    shutil.copytree(src, dst)
    c = pq.read_table(dst / "customers.parquet")
    n = c.num_rows
    profit = np.nan_to_num(c.column("net_profit").to_numpy(zero_copy_only=False))
    klass = abc_classes(profit, (0.6, 0.9))
    tier = np.select([klass == "A", klass == "B"], ["gold", "silver"], "bronze").astype(object)
    industry = np.asarray(
        pc.fill_null(c.column("industry"), "other").to_numpy(zero_copy_only=False), dtype=object
    )
    niche = klass + " · " + industry
    channel = np.select(
        [klass == "A", klass == "B", klass == "C"], ["field", "field", "inside"], "email"
    ).astype(object)
    visits = np.select([klass == "A", klass == "B"], [12.0, 6.0], 0.0)
    calls = np.select([klass == "C"], [6.0], 2.0)
    emails = np.full(n, 12.0)
    rep = np.asarray(
        pc.fill_null(c.column("rep_id"), "R0001").to_numpy(zero_copy_only=False), dtype=object
    )
    revenue = np.nan_to_num(c.column("revenue_12m").to_numpy(zero_copy_only=False))
    contribution = np.maximum(profit, 0.0) * 1.05 + visits * 10.0
    reason_class = klass + ": net profit " + np.round(profit).astype(int).astype(str)
    reason_cov = channel + ", " + visits.astype(int).astype(str) + " visits a year"
    added = {
        "value_class": klass,
        "value_class_computed": klass,
        "tier": tier,
        "niche": niche,
        "class_reason": reason_class,
        "channel": channel,
        "visits_per_year": visits,
        "calls_per_year": calls,
        "emails_per_year": emails,
        "assigned_rep": rep,
        "expected_revenue_plan": revenue * 1.05,
        "expected_contribution_plan": contribution,
        "coverage_reason": reason_cov,
    }
    for name, values in added.items():
        if name in c.column_names:  # the run's own figure, replaced by the hand-made plan's
            c = c.drop_columns([name])
        c = c.append_column(name, pa.array(values.tolist()))
    _write(dst, "customers", c)

    classes = ["A", "B", "C", "D"]
    seg_rows = []
    for k in classes:
        m = klass == k
        seg_rows.append(
            {
                "level": "class",
                "segment": k,
                "customers": int(m.sum()),
                "share_of_revenue": float(revenue[m].sum() / revenue.sum()),
                "share_of_profit": float(profit[m].sum() / profit.sum()),
                "profile": f"Class {k}: <b>{int(m.sum())}</b> accounts",
                "programme": {"A": "gold", "B": "silver"}.get(k, "bronze"),
                "stability_jaccard": 0.8,
            }
        )
    _write(dst, "segments", pa.Table.from_pylist(seg_rows))

    reps = sorted(set(rep.tolist()))
    rep_rows = []
    for r in reps:
        m = rep == r
        hours = float(visits[m].sum() * 1.5 + calls[m].sum() * 0.25)
        rep_rows.append(
            {
                "rep_id": r,
                "customers": int(m.sum()),
                "visits": float(visits[m].sum()),
                "calls": float(calls[m].sum()),
                "emails": float(emails[m].sum()),
                "hours_used": hours,
                "capacity_hours": 1200.0,
                "utilisation": hours / 1200.0,
                "expected_contribution": float(contribution[m].sum()),
            }
        )
    _write(dst, "rep_plan", pa.Table.from_pylist(rep_rows))
    cov = []
    for k in classes:
        m = klass == k
        cov.append(
            {
                "value_class": k,
                "tier": {"A": "gold", "B": "silver"}.get(k, "bronze"),
                "channel": str(channel[m][0]) if m.any() else "email",
                "customers": int(m.sum()),
                "visits_per_year": float(visits[m].mean()) if m.any() else 0.0,
                "calls_per_year": float(calls[m].mean()) if m.any() else 0.0,
                "hours": float(visits[m].sum() * 1.5),
            }
        )
    _write(dst, "segment_coverage", pa.Table.from_pylist(cov))
    _write(
        dst,
        "coverage_vs_legacy",
        pa.table(
            {
                "value_class": classes,
                "hours_legacy": [300.0, 500.0, 700.0, 400.0],
                "hours_plan": [600.0, 500.0, 300.0, 50.0],
                "visits_legacy": [100.0, 150.0, 200.0, 120.0],
                "visits_plan": [200.0, 150.0, 0.0, 0.0],
            }
        ),
    )
    _write(
        dst,
        "sizing",
        pa.table(
            {
                "field_reps": [6, 7, 8, 9, 10],
                "expected_contribution": [90e3, 98e3, 104e3, 107e3, 108e3],
                "customers_field": [80, 95, 110, 120, 126],
            }
        ),
    )
    ids = c.column("customer_id").to_pylist()
    items = ["filters", "machines", "cups", "descaler", "<img src=x onerror=alert(2)>"]
    cs_rows = []
    for i, cid in enumerate(ids[:120]):
        for rank in (1, 2, 3):
            cs_rows.append(
                {
                    "customer_id": cid,
                    "rank": rank,
                    "item": items[(i + rank) % len(items)],
                    "score": 1.0 / rank,
                    "expected_value": 100.0 / rank,
                    "reason": f"peers buy {items[(i + rank) % len(items)]}",
                }
            )
    _write(dst, "cross_sell", pa.Table.from_pylist(cs_rows))
    _write(
        dst,
        "basket_rules",
        pa.table(
            {
                "antecedent": ["machines", "filters"],
                "consequent": ["filters", "descaler"],
                "support": [0.1, 0.05],
                "confidence": [0.84, 0.4],
                "lift": [3.2, 1.8],
            }
        ),
    )
    _write(
        dst,
        "terms",
        pa.table(
            {
                "tier": ["gold", "silver", "bronze"],
                "rule": ["rebate ladder", "minimum order 200", "minimum order 400"],
                "expected_cost_saved": [1000.0, 2500.0, 4000.0],
                "cost_paid": [800.0, 0.0, 0.0],
            }
        ),
    )
    depth = np.nan_to_num(c.column("discount_depth").to_numpy(zero_copy_only=False))
    _write(
        dst,
        "discount_audit",
        pa.table(
            {
                "customer_id": ids,
                "value_class": klass.tolist(),
                "discount_depth": depth,
                "band_high": np.full(n, 0.1),
                "margin_effect": np.maximum(depth - 0.1, 0) * revenue,
            }
        ),
    )
    tg = []
    for r in reps:
        for k in classes:
            m = (rep == r) & (klass == k)
            tg.append(
                {
                    "rep_id": r,
                    "value_class": k,
                    "revenue_target": float(revenue[m].sum() * 1.05),
                    "margin_target": float(max(profit[m].sum(), 0.0)),
                }
            )
    _write(dst, "targets", pa.Table.from_pylist(tg))
    manifest = json.loads((dst / "manifest.json").read_text(encoding="utf-8"))
    manifest["segments"] = {
        "method": "computed ABC (test tables)",
        "axes": {"value": "net_profit", "potential": "wallet"},
        "classes": classes,
        "cut_points": {"value": [0.0, 1000.0]},
    }
    (dst / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return dst


def customer_id_named(out: Path, name: str) -> str:
    """The account id of the customer with this name in an output folder."""
    c = pq.read_table(out / "customers.parquet", columns=["customer_id", "name"])
    hit = c.filter(pc.equal(c.column("name"), name))
    assert hit.num_rows == 1, f"expected one customer named {name!r}, found {hit.num_rows}"
    return str(hit.column("customer_id")[0].as_py())


def forms(page: str) -> list[dict[str, str]]:
    """The hidden fields of every POST form of a dashboard page, as a browser would send
    them."""
    out = []
    for part in page.split('<form method="post"')[1:]:
        body = part.split("</form>")[0]
        fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', body)
        out.append({k: html.unescape(v) for k, v in fields})
    return out


def fill_text(out: Path, column: str, value: str) -> int:
    """Put ``value`` in every cell of the text column ``column`` of every Parquet table of
    an output folder (input text a run carried through); returns the tables changed."""
    changed = 0
    for path in sorted(out.glob("*.parquet")):
        t = pq.read_table(path)
        if column not in t.column_names:
            continue
        i = t.column_names.index(column)
        field = t.schema.field(i)
        filled = pa.array([value] * t.num_rows, field.type)
        pq.write_table(t.set_column(i, field, filled), path)
        changed += 1
    return changed
