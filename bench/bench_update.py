"""The weekly job: `passing-score update --season S --week W` on a full warehouse, timed.

Runs on a copy of a warehouse that already holds every shared season, features, a trained
model and scores (default data/warehouse.duckdb after `make run`); the week is re-published
with one play changed so the update really ingests, rebuilds, re-predicts and re-scores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl

from bench.common import ROOT, shared_pbp, write_result


def main() -> None:
    """Time a partial-week then full-week update of the newest shared week."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, default=ROOT / "data" / "warehouse.duckdb")
    ap.add_argument("--data-dir", type=Path, default=ROOT / "data")
    ap.add_argument("--season", type=int, default=2024)
    ap.add_argument("--week", type=int, default=18)
    args = ap.parse_args()
    if not args.db.exists() or not (args.data_dir / "models").is_dir():
        print(f"skip: need {args.db} and {args.data_dir}/models (run `make run` first)")
        return
    src = shared_pbp() / str(args.season) / f"play_by_play_{args.season}.parquet"
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        db = tmp / "w.duckdb"
        shutil.copy(args.db, db)
        week = pl.read_parquet(src).filter(pl.col("week") == args.week,
                                           pl.col("season_type") == "REG")
        folder = tmp / "week"
        folder.mkdir()
        # a corrected re-publication: one play's description changes
        week.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("corrected"))
                          .otherwise(pl.col("desc")).alias("desc")
                          ).write_parquet(folder / "week.parquet")
        env = {**os.environ, "PASSING_SCORE_DB": str(db),
               "PASSING_SCORE_DATA_DIR": str(args.data_dir), "COLUMNS": "160"}
        cmd = [sys.executable, "-m", "passing_score.pipeline.cli", "update",
               "--season", str(args.season), "--week", str(args.week), "--path", str(folder)]
        t0 = time.perf_counter()
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - t0
        if r.returncode != 0:
            print(r.stdout, r.stderr)
            raise SystemExit(f"update failed ({r.returncode})")
        t0 = time.perf_counter()
        r2 = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        again = time.perf_counter() - t0
    write_result("update", {
        "season": args.season, "week": args.week, "week_plays": week.height,
        "games": week["game_id"].n_unique(),
        "update_seconds": round(seconds, 2), "target_seconds": 10,
        "rerun_unchanged_seconds": round(again, 2), "rerun_ok": r2.returncode == 0,
        "note": "wall time of the CLI process, start-up (imports) included",
    })


if __name__ == "__main__":
    main()
