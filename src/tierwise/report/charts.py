"""The report's charts as Vega-Altair specs, with their data already reduced in NumPy.

Every chart embeds its data; none embeds more than ``max_chart_rows`` rows (Vega-Altair's own
limit, left in force): with more customers a chart shows bins computed here, vectorised over
the customers, instead of one mark per customer. Every chart has tooltips.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "bar_chart",
    "grouped_bar_chart",
    "line_chart",
    "matrix_chart",
    "sample_curve",
    "whale_chart",
]

#: Every chart is as wide as its container (Vega-Lite's ``"container"`` width, fitted with its
#: axes and legend, and drawn again when the window is resized); heights are fixed.
WIDTH = "container"
HEIGHT = 280
#: Longest axis label of a category axis, in pixels, so a narrow chart keeps room for its bars.
LABEL_LIMIT = 120


def _clean(table: pa.Table) -> pa.Table:
    """NaN and infinities become nulls (JSON has no spelling for them)."""
    cols = []
    for col in table.columns:
        if pa.types.is_floating(col.type):
            bad = pc.invert(pc.is_finite(col))
            col = pc.if_else(bad, pa.scalar(None, col.type), col)
        cols.append(col)
    return pa.table(dict(zip(table.column_names, cols, strict=True)))


def sample_curve(n: int, points: int, keep: Sequence[int] = ()) -> np.ndarray:
    """Indices of ``points`` evenly spaced rows of an ``n``-row curve, plus ``keep``.

    Examples
    --------
    >>> sample_curve(10, 4).tolist()
    [0, 3, 6, 9]
    >>> sample_curve(3, 10).tolist()
    [0, 1, 2]
    """
    if n <= points:
        return np.arange(n)
    idx = np.unique(np.round(np.linspace(0, n - 1, points)).astype(np.int64))
    extra = np.asarray([k for k in keep if 0 <= k < n], dtype=np.int64)
    return np.unique(np.concatenate([idx, extra]))


def whale_chart(whale: pa.Table, points: int) -> Any:
    """The whale curve: cumulative share of profit against share of customers, by profit.

    ``whale`` has ``rank``, ``customer_id``, ``net_profit``, ``share_of_customers`` and
    ``cumulative_share_of_profit`` (the profitability stage's whale_curve table).
    """
    cum = np.asarray(
        pc.fill_null(whale.column("cumulative_share_of_profit"), 0.0).to_numpy(
            zero_copy_only=False
        ),
        dtype=np.float64,
    )
    peak = int(np.argmax(cum)) if cum.size else 0
    idx = sample_curve(whale.num_rows, points, keep=(peak,))
    data = _clean(
        whale.select(
            [
                "rank",
                "customer_id",
                "net_profit",
                "share_of_customers",
                "cumulative_share_of_profit",
            ]
        ).take(pa.array(idx))
    )
    base = alt.Chart(data).encode(
        x=alt.X("share_of_customers:Q", title="share of customers (most profitable first)")
        .axis(format="%")
        .scale(domain=[0, 1]),
        y=alt.Y("cumulative_share_of_profit:Q", title="cumulative share of net profit").axis(
            format="%"
        ),
    )
    tooltip = [
        alt.Tooltip("rank:Q", title="rank"),
        alt.Tooltip("customer_id:N", title="customer"),
        alt.Tooltip("net_profit:Q", title="net profit", format=",.0f"),
        alt.Tooltip("share_of_customers:Q", title="share of customers", format=".1%"),
        alt.Tooltip("cumulative_share_of_profit:Q", title="share of profit", format=".1%"),
    ]
    line = base.mark_line(color="#1f5f8b")
    dots = base.mark_circle(size=28, opacity=0.01, color="#1f5f8b").encode(tooltip=tooltip)
    full = (
        alt.Chart(pa.table({"y": [1.0]})).mark_rule(strokeDash=[4, 4], color="#888").encode(y="y:Q")
    )
    return alt.layer(line, dots, full).properties(width=WIDTH, height=HEIGHT)


def _class_order(values: pa.Array, order: Sequence[str] | None) -> list[str]:
    present = [v for v in pc.unique(values.drop_null()).to_pylist() if v is not None]
    if order:
        known = [c for c in order if c in present]
        return known + sorted(c for c in present if c not in known)
    return sorted(present)


def matrix_chart(
    customers: pa.Table,
    *,
    value: str,
    potential: str,
    klass: str | None,
    max_rows: int,
    bins: int,
    cuts: dict[str, list[float]] | None = None,
    class_order: Sequence[str] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """The value × potential matrix, one point per customer or, above ``max_rows``, bins.

    Bins are quantile bins of each axis (so each row and column of cells holds a similar
    number of customers); a cell's colour is its commonest class and its opacity the number
    of customers. ``cuts`` (``{"value": [...], "potential": [...]}``, the segments stage's
    cut points) are drawn as lines.

    Returns
    -------
    The chart and facts for its caption: ``binned``, ``shown``, ``without_axes``.
    """
    x_all = _float(customers, potential)
    y_all = _float(customers, value)
    ok = np.isfinite(x_all) & np.isfinite(y_all)
    n_ok = int(ok.sum())
    facts: dict[str, Any] = {"shown": n_ok, "without_axes": int(customers.num_rows - n_ok)}
    klass_arr = (
        customers.column(klass).combine_chunks().cast(pa.string())
        if klass and klass in customers.column_names
        else None
    )
    order = _class_order(klass_arr, class_order) if klass_arr is not None else []
    x_title, y_title = potential.replace("_", " "), value.replace("_", " ")
    if n_ok <= max_rows:
        facts["binned"] = False
        keep = pa.array(np.flatnonzero(ok))
        cols: dict[str, Any] = {
            "customer_id": customers.column("customer_id").take(keep),
            "x": pa.array(x_all[ok]),
            "y": pa.array(y_all[ok]),
        }
        if "name" in customers.column_names:
            cols["name"] = customers.column("name").take(keep)
        if klass_arr is not None:
            cols["class"] = klass_arr.take(keep)
        data = _clean(pa.table(cols))
        tooltip = [alt.Tooltip("customer_id:N", title="customer")]
        if "name" in cols:
            tooltip.append(alt.Tooltip("name:N", title="name"))
        tooltip += [
            alt.Tooltip("x:Q", title=x_title, format=",.0f"),
            alt.Tooltip("y:Q", title=y_title, format=",.0f"),
        ]
        enc: dict[str, Any] = {
            "x": alt.X("x:Q", title=x_title).scale(type="symlog"),
            "y": alt.Y("y:Q", title=y_title).scale(type="symlog"),
        }
        if klass_arr is not None:
            tooltip.append(alt.Tooltip("class:N", title="class"))
            enc["color"] = alt.Color("class:N", title="class").scale(domain=order)
        points = alt.Chart(data).mark_circle(size=22, opacity=0.7).encode(**enc, tooltip=tooltip)
        layers: list[Any] = [points]
    else:
        facts["binned"] = True
        x, y = x_all[ok], y_all[ok]
        xe = _edges(x, bins)
        ye = _edges(y, bins)
        ix = np.clip(np.searchsorted(xe, x, side="right") - 1, 0, len(xe) - 2)
        iy = np.clip(np.searchsorted(ye, y, side="right") - 1, 0, len(ye) - 2)
        ny = len(ye) - 1
        cell = ix * ny + iy
        ncell = (len(xe) - 1) * ny
        counts = np.bincount(cell, minlength=ncell)
        used = np.flatnonzero(counts)
        cx, cy = used // ny, used % ny
        cols = {
            "x": pa.array(xe[cx]),
            "x2": pa.array(xe[cx + 1]),
            "y": pa.array(ye[cy]),
            "y2": pa.array(ye[cy + 1]),
            "customers": pa.array(counts[used]),
        }
        tooltip = [
            alt.Tooltip("x:Q", title=f"{x_title} from", format=",.0f"),
            alt.Tooltip("x2:Q", title=f"{x_title} to", format=",.0f"),
            alt.Tooltip("y:Q", title=f"{y_title} from", format=",.0f"),
            alt.Tooltip("y2:Q", title=f"{y_title} to", format=",.0f"),
            alt.Tooltip("customers:Q", title="customers", format=","),
        ]
        enc = {
            "x": alt.X("x:Q", title=x_title).scale(type="symlog"),
            "x2": "x2:Q",
            "y": alt.Y("y:Q", title=y_title).scale(type="symlog"),
            "y2": "y2:Q",
            "opacity": alt.Opacity("customers:Q", title="customers").scale(
                type="log", range=[0.25, 1]
            ),
        }
        if klass_arr is not None:
            names = np.asarray([*order, "(none)"], dtype=object)
            lookup = {c: i for i, c in enumerate(order)}
            codes_arr = pc.fill_null(
                pc.index_in(klass_arr, value_set=pa.array(order, pa.string())), len(order)
            )
            codes = np.asarray(codes_arr.to_numpy(zero_copy_only=False))[ok]
            k = len(names)
            by_class = np.bincount(cell * k + codes, minlength=ncell * k).reshape(ncell, k)
            top = by_class[used].argmax(axis=1)
            cols["class"] = pa.array(names[top].tolist(), pa.string())
            cols["class_share"] = pa.array(by_class[used, top] / counts[used])
            tooltip += [
                alt.Tooltip("class:N", title="commonest class"),
                alt.Tooltip("class_share:Q", title="its share", format=".0%"),
            ]
            enc["color"] = alt.Color("class:N", title="class").scale(
                domain=[n for n in names.tolist() if n in lookup or n == "(none)"]
            )
        data = _clean(pa.table(cols))
        layers = [alt.Chart(data).mark_rect().encode(**enc, tooltip=tooltip)]
    for axis, field in (("potential", "x"), ("value", "y")):
        given = (cuts or {}).get(axis, [])
        # the segments manifest gives each axis as {"thresholds": [...], "how": ...}
        if isinstance(given, dict):
            given = given.get("thresholds", [])
        values = [float(v) for v in given if v is not None and np.isfinite(float(v))]
        if values:
            rule_data = pa.table({field: values})
            layers.append(
                alt.Chart(rule_data)
                .mark_rule(color="#333", strokeDash=[6, 3])
                .encode(
                    **{field: f"{field}:Q"},
                    tooltip=[alt.Tooltip(f"{field}:Q", title=f"{axis} cut", format=",.0f")],
                )
            )
    return alt.layer(*layers).properties(width=WIDTH, height=360), facts


def _edges(values: np.ndarray, bins: int) -> np.ndarray:
    """Quantile bin edges; ties collapse, so there may be fewer than ``bins`` bins."""
    edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, bins + 1)))
    if edges.size < 2:
        edges = np.array([edges[0], edges[0] + 1.0])
    return edges


def _float(table: pa.Table, name: str) -> np.ndarray:
    if name not in table.column_names:
        return np.full(table.num_rows, np.nan)
    col = pc.cast(table.column(name), pa.float64())
    return np.asarray(pc.fill_null(col, np.nan).to_numpy(zero_copy_only=False), dtype=np.float64)


def bar_chart(
    data: pa.Table,
    *,
    x: str,
    y: str,
    x_title: str,
    y_title: str,
    y_format: str = ",.0f",
    sort: Sequence[str] | None = None,
    horizontal: bool = False,
    extra_tooltip: Sequence[tuple[str, str, str]] = (),
) -> alt.Chart:
    """One bar per category; ``extra_tooltip`` adds (column, title, format) to the hover."""
    cat: Any = alt.X(f"{x}:N", title=x_title, sort=list(sort) if sort else None)
    val: Any = alt.Y(f"{y}:Q", title=y_title).axis(format=y_format)
    tooltip = [alt.Tooltip(f"{x}:N", title=x_title), alt.Tooltip(f"{y}:Q", title=y_title)]
    tooltip[-1] = alt.Tooltip(f"{y}:Q", title=y_title, format=y_format)
    for col, title, fmt in extra_tooltip:
        tooltip.append(alt.Tooltip(f"{col}:Q", title=title, format=fmt))
    if horizontal:
        cat = alt.Y(f"{x}:N", title=x_title, sort=list(sort) if sort else "-x").axis(
            labelLimit=LABEL_LIMIT
        )
        val = alt.X(f"{y}:Q", title=y_title).axis(format=y_format)
        enc = {"y": cat, "x": val}
    else:
        enc = {"x": cat, "y": val}
    height = max(HEIGHT, 18 * data.num_rows) if horizontal else HEIGHT
    return (
        alt.Chart(_clean(data))
        .mark_bar(color="#1f5f8b")
        .encode(**enc, tooltip=tooltip)
        .properties(width=WIDTH, height=height)
    )


def grouped_bar_chart(
    data: pa.Table,
    *,
    x: str,
    group: str,
    y: str,
    x_title: str,
    y_title: str,
    y_format: str = ".0%",
    sort: Sequence[str] | None = None,
    group_order: Sequence[str] | None = None,
    stacked: bool = False,
) -> alt.Chart:
    """Bars per category split by ``group`` (side by side, or stacked)."""
    enc: dict[str, Any] = {
        "x": alt.X(f"{x}:N", title=x_title, sort=list(sort) if sort else None),
        "y": alt.Y(f"{y}:Q", title=y_title).axis(format=y_format),
        "color": alt.Color(f"{group}:N", title=group.replace("_", " ")).scale(
            domain=list(group_order) if group_order else alt.Undefined
        ),
        "tooltip": [
            alt.Tooltip(f"{x}:N", title=x_title),
            alt.Tooltip(f"{group}:N", title=group.replace("_", " ")),
            alt.Tooltip(f"{y}:Q", title=y_title, format=y_format),
        ],
    }
    if not stacked:
        enc["xOffset"] = alt.XOffset(
            f"{group}:N", sort=list(group_order) if group_order else alt.Undefined
        )
    return alt.Chart(_clean(data)).mark_bar().encode(**enc).properties(width=WIDTH, height=HEIGHT)


def line_chart(
    data: pa.Table,
    *,
    x: str,
    series: Sequence[tuple[str, str]],
    x_title: str,
    y_title: str,
    x_type: str = "Q",
    y_format: str = ",.0f",
    rule_at: Any = None,
    rule_label: str = "",
    y_zero: bool = True,
) -> Any:
    """Several series against one x (``series`` = (column, label)), with points to hover and
    an optional vertical rule (e.g. the start of a holdout period). ``y_zero=False`` lets the
    y axis start near the data (small differences between large figures)."""
    base = data.select([x, *[c for c, _ in series]])
    n = base.num_rows
    x_arr = pa.concat_arrays([base.column(x).combine_chunks()] * len(series))
    y_arr = pa.concat_arrays(
        [pc.cast(base.column(c), pa.float64()).combine_chunks() for c, _ in series]
    )
    labels = pa.array(np.repeat(np.asarray([s for _, s in series], dtype=object), n), pa.string())
    long = _clean(pa.table({"x": x_arr, "series": labels, "y": y_arr}))
    enc = {
        "x": alt.X(f"x:{x_type}", title=x_title),
        "y": alt.Y("y:Q", title=y_title).axis(format=y_format).scale(zero=y_zero),
        "color": alt.Color("series:N", title=None),
    }
    tooltip = [
        alt.Tooltip(f"x:{x_type}", title=x_title),
        alt.Tooltip("series:N", title="series"),
        alt.Tooltip("y:Q", title=y_title, format=y_format),
    ]
    line = alt.Chart(long).mark_line().encode(**enc)
    dots = alt.Chart(long).mark_circle(size=30, opacity=0.01).encode(**enc, tooltip=tooltip)
    layers: list[Any] = [line, dots]
    if rule_at is not None:
        rule = pa.table({"x": pa.array([rule_at], type=x_arr.type), "label": [rule_label]})
        layers.append(
            alt.Chart(rule)
            .mark_rule(strokeDash=[4, 4], color="#888")
            .encode(x=f"x:{x_type}", tooltip=[alt.Tooltip("label:N", title="")])
        )
    return alt.layer(*layers).properties(width=WIDTH, height=HEIGHT)
