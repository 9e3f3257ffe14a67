"""The demo made in pieces: the same tables and the same files whatever the piece size.

``tierwise demo`` writes its transactions, activities and payments piece by piece as they
are made (:class:`tierwise.demo.DemoStream`); :func:`tierwise.demo.generate` assembles the
same pieces in memory. Here: the pieces do not depend on their size, the files written
piece by piece are the bytes of those written from the whole tables, and the data is still
the data the generator made before it made pieces (pinned digests).
"""

from __future__ import annotations

import hashlib
import io
from itertools import pairwise
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierwise.demo import STREAMED_TABLES, DemoData, DemoStream, generate, generate_stream
from tierwise.demo._baskets import PairPlanter, plant_pairs
from tierwise.io import demo_files
from tierwise.io.demo_files import write_demo

N, SEED = 300, 3


@pytest.fixture(scope="module")
def stream() -> DemoStream:
    return generate_stream(n_customers=N, seed=SEED)


@pytest.fixture(scope="module")
def whole(stream: DemoStream) -> DemoData:
    return stream.collect()


def _streamed(data: DemoData) -> dict[str, pa.Table]:
    return {name: getattr(data, name) for name in STREAMED_TABLES}


@pytest.mark.parametrize("rows", [1, 7, 250, 10**8])
def test_tables_do_not_depend_on_the_piece_size(
    stream: DemoStream, whole: DemoData, rows: int
) -> None:
    for name, table in _streamed(stream.collect(rows=rows)).items():
        assert table.equals(_streamed(whole)[name]), (name, rows)


def test_pieces_are_made_the_same_on_every_call(stream: DemoStream) -> None:
    first = [(n, s, p.num_rows) for n, s, p in stream.pieces(rows=500)]
    again = list(stream.pieces(rows=500))
    assert first == [(n, s, p.num_rows) for n, s, p in again]
    assert max(p.num_rows for _, _, p in again) <= 500 + 8  # whole orders of up to 8 lines


def test_generate_is_the_stream_collected(whole: DemoData) -> None:
    data = generate(n_customers=N, seed=SEED)
    for name, table in data.tables().items():
        assert table.equals(whole.tables()[name]), name


def test_transactions_hold_the_sales_lines_then_the_credit_notes(whole: DemoData) -> None:
    tx = whole.transactions
    assert {col.num_chunks for col in tx.columns} == {2}
    sales, credit = tx.column("is_return").chunks
    assert not any(sales.to_pylist())
    assert all(credit.to_pylist()) and len(credit) > 0
    for name in ("activities", "payments"):
        assert getattr(whole, name).column(0).num_chunks == 1


def test_the_data_is_the_data_made_before_it_came_in_pieces(whole: DemoData) -> None:
    """Digests of the tables as CSV, made by the generator that held every table whole (and
    by this one). A deliberate change to the demo's data changes them: update them then."""
    expected = {
        "transactions": "50da2e62c2c3cd715938d6d673cb84443bc31be0822c0876250216903daf8123",
        "activities": "0878ea41448ea01ae18dc011746ed2c055aae9292c0e4eea3c6ce9668c72de46",
        "payments": "81665387d9d962c9e0b90df2d59b2481d6df560fa8bfb89ad36af655589e5883",
    }
    for name, table in _streamed(whole).items():
        buf = io.BytesIO()
        pacsv.write_csv(table, buf)
        assert hashlib.sha256(buf.getvalue()).hexdigest() == expected[name], name


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize(("n", "seed"), [(N, SEED), (10, 1)])
def test_files_written_in_pieces_are_the_bytes_of_the_whole_tables(
    tmp_path: Path, fmt: str, n: int, seed: int
) -> None:
    whole = write_demo(generate(n_customers=n, seed=seed), tmp_path / "whole", fmt=fmt)
    expected = _files(tmp_path / "whole")
    for rows in (3, 1000):
        folder = tmp_path / f"pieces_{rows}"
        paths = write_demo(generate_stream(n_customers=n, seed=seed), folder, fmt=fmt, rows=rows)
        assert [(k, p.name) for k, p in paths.items()] == [(k, p.name) for k, p in whole.items()]
        assert _files(folder) == expected, (fmt, n, rows)


def test_parquet_row_groups_across_pieces_and_segments_are_those_of_write_table(
    tmp_path: Path, stream: DemoStream, whole: DemoData, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With row groups of 997 rows, groups start and end inside pieces and one spans the
    sales lines and the credit notes: the file is still what pq.write_table writes."""
    monkeypatch.setattr(demo_files, "ROW_GROUP_ROWS", 997)
    paths = write_demo(stream, tmp_path / "pieces", rows=300)
    for name in STREAMED_TABLES:
        table = getattr(whole, name)
        assert table.num_rows > 2 * 997, name
        expected = tmp_path / f"{name}.parquet"
        pq.write_table(table, expected, compression="zstd", row_group_size=997)
        assert paths[name].read_bytes() == expected.read_bytes(), name
        assert pq.ParquetFile(paths[name]).metadata.row_group(0).num_rows == 997


def test_parquet_pieces_write_a_segment_as_one_chunk_as_write_table_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parquet's writer takes a column chunk by chunk, so a row group holding the end of
    one segment and the start of the next must hold them as two chunks: with the seam
    early in a row group of random floats (here), one merged chunk gives another file."""
    monkeypatch.setattr(demo_files, "ROW_GROUP_ROWS", 250_000)
    rng = np.random.default_rng(5)
    segments = [rng.normal(size=n) for n in (123_457, 180_003)]
    table = pa.table({"x": pa.chunked_array([pa.array(x) for x in segments])})
    expected = tmp_path / "whole.parquet"
    pq.write_table(table, expected, compression="zstd", row_group_size=250_000)
    writer = demo_files._ParquetPieces(tmp_path / "pieces.parquet", table.schema)
    for segment, x in enumerate(segments):
        cuts = np.sort(rng.choice(np.arange(1, len(x)), size=6, replace=False))
        for piece in np.split(x, cuts):
            writer.add(segment, pa.table({"x": piece}))
    writer.close()
    assert (tmp_path / "pieces.parquet").read_bytes() == expected.read_bytes()


def test_a_failed_write_leaves_the_folder_as_it_was(
    tmp_path: Path, stream: DemoStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "transactions.parquet").write_bytes(b"the last demo")
    pieces = stream.pieces

    def failing(rows: int = 1000):  # type: ignore[no-untyped-def]
        for i, piece in enumerate(pieces(rows)):
            if i == 5:
                raise OSError("disk full")
            yield piece

    monkeypatch.setattr(DemoStream, "pieces", lambda self, rows=1000: failing(rows))
    with pytest.raises(OSError, match="disk full"):
        write_demo(stream, tmp_path)
    assert _files(tmp_path) == {"transactions.parquet": b"the last demo"}


def test_rejects_a_piece_size_below_one(stream: DemoStream) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        next(stream.pieces(rows=0))


@settings(max_examples=50, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 8), min_size=1, max_size=60),
    cuts=st.sets(st.integers(1, 59)),
    seed=st.integers(0, 2**32 - 1),
)
def test_planting_pairs_piece_by_piece_is_planting_them_at_once(
    sizes: list[int], cuts: set[int], seed: int
) -> None:
    order = np.repeat(np.arange(len(sizes)), sizes)
    # anchors and other products of 10 categories × 40 (the anchors often enough)
    rng = np.random.default_rng(seed)
    anchors = np.array([40, 241, 200, 282, 160])
    product = np.where(
        rng.random(len(order)) < 0.5,
        rng.choice(anchors, len(order)),
        rng.integers(0, 400, len(order)),
    )
    whole = plant_pairs(product, order, 40, seed)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    bounds = sorted({0, len(sizes), *(c for c in cuts if c < len(sizes))})
    planter = PairPlanter(40, seed)
    pieces = [
        planter(product[starts[a] : starts[b]], order[starts[a] : starts[b]])
        for a, b in pairwise(bounds)
    ]
    assert np.concatenate(pieces).tolist() == whole.tolist()
