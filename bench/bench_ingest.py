"""Ingest all shared seasons: our validated per-game pipeline vs its floor, DuckDB's own
`read_parquet` of the same files into a table (no validation, no idempotency, no per-game
writes), timed in turn in one run (best of 3 each)."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import os

import duckdb

from bench.common import interleaved, peak_rss_mib, shared_pbp, write_result
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


def floor(folder: Path, tmp: Path) -> int:
    """DuckDB's read_parquet of every file into one table: the floor of any ingest path."""
    con = duckdb.connect(str(tmp / f"floor_{time.perf_counter_ns()}.duckdb"))
    files = ", ".join(f"'{f}'" for f in sorted(folder.glob("*/*.parquet")))
    con.execute(f"CREATE TABLE plays AS SELECT * FROM read_parquet([{files}], "
                "union_by_name = true)")
    n = con.execute("SELECT count(*) FROM plays").fetchall()[0][0]
    con.close()
    return int(n)


def main() -> None:
    """Time both side by side (best of 3) and write bench/results/ingest.json (or --out)."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=None,
                    help="result file (default bench/results/ingest.json)")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each side (best taken)")
    args = ap.parse_args()
    folder = shared_pbp()
    if not folder.is_dir():
        print(f"skip: {folder} not found")
        return
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        rows = ours(folder, tmp)
        best = interleaved({"ours": lambda: ours(folder, tmp),
                            "floor": lambda: floor(folder, tmp)}, repeats=args.repeats)
        t_ours, t_floor = best["ours"], best["floor"]
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
        "floor_duckdb_read_parquet_seconds": round(t_floor, 3),
        "floor_rows_per_s": round(rows / t_floor),
        "ratio_ours_over_floor_time": round(t_ours / t_floor, 2),
        "target_ratio": 1.2,
        "reingest_unchanged_seconds": round(t_again, 3),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "load_average_before": [round(x, 2) for x in load_before],
        "note": "ours reads each file, validates it whole, hashes each game's content and "
                "writes the changed games of all files set-wise in one transaction; the floor "
                f"is one CREATE TABLE AS read_parquet of all files. Run in turn, best of "
                f"{args.repeats} each.",
    }, args.out)


if __name__ == "__main__":
    main()
