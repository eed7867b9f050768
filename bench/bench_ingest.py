"""Ingest all shared seasons: our validated per-game pipeline vs a plain read + insert."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb
import pandas as pd

from bench.common import best_of, peak_rss_mib, shared_pbp, write_result
from passing_score.pipeline.foundation.warehouse import connect
from passing_score.pipeline.ingest.load import PlayFilter, ingest
from passing_score.pipeline.ingest.sources import LocalSource


def ours(folder: Path, tmp: Path) -> int:
    """Full ingest into a fresh warehouse; returns plays stored."""
    db = tmp / f"ours_{time.perf_counter_ns()}.duckdb"
    con = connect(db)
    report = ingest(con, LocalSource(folder), PlayFilter())
    assert not report.rejected
    n = con.execute("SELECT count(*) FROM plays").fetchall()[0][0]
    con.close()
    return int(n)


def plain(folder: Path, tmp: Path) -> int:
    """pandas.read_parquet of each file, one concat, one DuckDB insert: no validation, no
    idempotency, no per-game writes (per-file inserts fail on columns that are all-null in one
    season and text in another)."""
    con = duckdb.connect(str(tmp / f"plain_{time.perf_counter_ns()}.duckdb"))
    df = pd.concat([pd.read_parquet(f) for f in sorted(folder.glob("*/*.parquet"))],
                   ignore_index=True)
    con.register("df", df)
    con.execute("CREATE TABLE plays AS SELECT * FROM df")
    con.unregister("df")
    n = con.execute("SELECT count(*) FROM plays").fetchall()[0][0]
    con.close()
    return int(n)


def main() -> None:
    """Time both side by side (best of 3) and write bench/results/ingest.json."""
    folder = shared_pbp()
    if not folder.is_dir():
        print(f"skip: {folder} not found")
        return
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        rows = ours(folder, tmp)
        t_ours = best_of(lambda: ours(folder, tmp))
        t_plain = best_of(lambda: plain(folder, tmp))
        # re-ingesting unchanged files: the checksum skip
        db = tmp / "again.duckdb"
        con = connect(db)
        ingest(con, LocalSource(folder), PlayFilter())
        t0 = time.perf_counter()
        ingest(con, LocalSource(folder), PlayFilter())
        t_again = time.perf_counter() - t0
        con.close()
    write_result("ingest", {
        "plays": rows,
        "ours_seconds": round(t_ours, 3), "ours_rows_per_s": round(rows / t_ours),
        "plain_pandas_duckdb_seconds": round(t_plain, 3),
        "plain_rows_per_s": round(rows / t_plain),
        "ratio_ours_over_plain_time": round(t_ours / t_plain, 2),
        "reingest_unchanged_seconds": round(t_again, 3),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "note": "ours validates every file and writes per game in transactions; plain does not",
    })


if __name__ == "__main__":
    main()
