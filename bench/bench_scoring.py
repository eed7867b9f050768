"""Benchmark: seconds to score every season and to re-score one week (pipeline.scoring).

Usage: ``python bench/bench_scoring.py [--db PATH] [--model-version V] [--repeats 3]``.
The warehouse (``--db``, else PASSING_SCORE_DB, else data/warehouse.duckdb) is only read: its
``play_predictions`` (one model version) and the game scores of ``plays`` are copied into an
in-memory DuckDB and scored there. Writes ``bench/results/scoring.json``; without a warehouse
holding ``play_predictions`` it prints why and exits 0 without writing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import best_of, peak_rss_mib, write_result  # noqa: E402
from passing_score.pipeline.foundation.errors import PassingScoreError  # noqa: E402
from passing_score.pipeline.foundation.versions import current_version  # noqa: E402
from passing_score.pipeline.foundation.warehouse import fetch_one, table_columns  # noqa: E402
from passing_score.pipeline.scoring import scores as scoring  # noqa: E402
from passing_score.reports.leaderboard import board as lb  # noqa: E402


def in_memory_copy(db: Path, model_version: str | None) -> tuple[duckdb.DuckDBPyConnection, str]:
    """An in-memory warehouse with one model version's play_predictions and the game scores."""
    src = duckdb.connect(str(db), read_only=True)
    mv = current_version(src, model_version)
    has_plays = "home_score" in table_columns(src, "plays")
    src.close()
    con = duckdb.connect(":memory:")
    con.execute(f"ATTACH '{db}' AS src (READ_ONLY)")
    con.execute("CREATE TABLE play_predictions AS SELECT * FROM src.play_predictions "
                "WHERE model_version = ?", [mv])
    if has_plays:
        con.execute("CREATE TABLE plays AS SELECT game_id, home_team, away_team, home_score, "
                    "away_score FROM src.plays")
    con.execute("DETACH src")
    return con, mv


def predictions(db: Path, models_dir: Path, repeats: int) -> dict[str, Any] | None:
    """Dropbacks per second of `predict_dropbacks` over every dropback of the warehouse with
    the newest artifact's scorer: all play models, grid means, quantiles and PITs (what
    `score` writes to play_predictions). Best of `repeats` after one warm-up call."""
    from passing_score.models import artifact
    from passing_score.models.predict import predict_dropbacks
    from passing_score.pipeline.foundation.warehouse import query_pl

    try:
        art = artifact.load(artifact.resolve(models_dir), models=False)
    except PassingScoreError as exc:
        print(f"predictions skipped: {exc}")
        return None
    con = duckdb.connect(str(db), read_only=True)
    df = query_pl(con, "SELECT * FROM dropbacks ORDER BY game_id, play_id")
    con.close()
    predict_dropbacks(art.scorer, df.head(1000), art.version)  # loads the compiled kernels
    load = os.getloadavg()
    t = best_of(lambda: predict_dropbacks(art.scorer, df, art.version), repeats)
    return {"model_version": art.version, "dropbacks": df.height, "seconds": round(t, 3),
            "dropbacks_per_s": round(df.height / t), "target_dropbacks_per_s": 50_000,
            "numba_threads": int(os.environ.get("NUMBA_NUM_THREADS", os.cpu_count() or 1)),
            "load_average_before": [round(x, 2) for x in load]}


def run(db: Path, model_version: str | None, repeats: int) -> dict[str, Any] | None:
    """Time a full score (fit + all seasons), a frozen rescore, one week and a board."""
    if not db.exists():
        print(f"skipped: no warehouse at {db} (pass --db or set PASSING_SCORE_DB)")
        return None
    probe = duckdb.connect(str(db), read_only=True)
    ok = fetch_one(probe, "SELECT count(*) FROM information_schema.tables "
                          "WHERE table_name = 'play_predictions'")
    probe.close()
    if not ok or not ok[0]:
        print(f"skipped: {db} has no play_predictions (run `passing-score score` first)")
        return None
    t = time.perf_counter()
    con, mv = in_memory_copy(db, model_version)
    load_s = time.perf_counter() - t
    rows = fetch_one(con, "SELECT count(*), count(DISTINCT season), max(season) "
                          "FROM play_predictions")
    assert rows is not None
    n, n_seasons, newest = rows
    last = fetch_one(con, "SELECT max(week) FROM play_predictions WHERE season = ?", [newest])
    assert last is not None
    week = int(last[0])
    scoring.score(con, mv)  # warm-up (fits and stores the weights)
    full_fit = best_of(lambda: scoring.score(con, mv, refit=True), repeats)
    full = best_of(lambda: scoring.score(con, mv), repeats)
    one_week = best_of(lambda: scoring.score(con, mv, season=newest, week=week), repeats)
    board = best_of(lambda: lb.board(con, newest, model_version=mv), repeats)
    report = scoring.score(con, mv)
    con.close()
    return {
        "model_version": mv, "dropbacks": int(n), "seasons": int(n_seasons),
        "game_rows": report.game_rows, "season_rows": report.season_rows,
        "copy_seconds": round(load_s, 3),
        "score_all_seasons_with_fit_seconds": round(full_fit, 3),
        "score_all_seasons_frozen_seconds": round(full, 3),
        "rescore_one_week_seconds": round(one_week, 3),
        "rescored_week": {"season": int(newest), "week": week},
        "leaderboard_seconds": round(board, 3),
        "repeats": repeats, "peak_rss_mib": round(peak_rss_mib(), 1),
    }


def main() -> int:
    """Parse arguments, run, write bench/results/scoring.json."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=Path(os.environ.get(
        "PASSING_SCORE_DB", ROOT / "data" / "warehouse.duckdb")))
    ap.add_argument("--model-version", default=None)
    ap.add_argument("--models-dir", type=Path, default=Path(os.environ.get(
        "PASSING_SCORE_DATA_DIR", ROOT / "data")) / "models")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    try:
        result = run(args.db, args.model_version, args.repeats)
    except (PassingScoreError, duckdb.Error) as exc:  # several versions, a lock elsewhere
        print(f"skipped: {str(exc).splitlines()[0]}")
        return 0
    if result is None:
        return 0
    result["predictions"] = predictions(args.db, args.models_dir, args.repeats)
    for k, v in result.items():
        print(f"{k}: {v}")
    write_result("scoring", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
