"""Live games: a game re-scored from partial play-by-play files of it while in progress is
marked not final, and a later complete file replaces it: partial -> more partial -> final ends
where ingesting the final file once does."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
from fastapi.testclient import TestClient

from passing_score.pipeline import jobs
from passing_score.pipeline.foundation import tables
from passing_score.pipeline.foundation.config import Settings
from passing_score.pipeline.foundation.warehouse import connect, query_pl
from passing_score.reports.api.app import create_app
from tests.factories.trained import TrainedLeague

CLI = [sys.executable, "-m", "passing_score.pipeline.cli"]
TABLES = {  # table -> columns that record when, not what
    "plays": ("ingested_at", "source_key"), "dropbacks": (), "play_predictions": (),
    "qb_game_scores": (), "qb_season_scores": ()}


def _files(league: TrainedLeague, d: Path) -> tuple[str, list[Path]]:
    """Two partial files of one game of the held-back week, then the whole game with
    nflverse's closing END GAME play."""
    week = pl.read_parquet(league.week_dir / "week.parquet")
    game = week["game_id"].unique().sort()[0]
    plays = week.filter(pl.col("game_id") == game).sort("play_id")
    end = plays.tail(1).with_columns(pl.col("play_id") + 1, pl.lit("END GAME").alias("desc"),
                                     pl.lit(0).cast(plays["qb_dropback"].dtype)
                                     .alias("qb_dropback"),
                                     pl.lit(None, pl.String).alias("play_type"))
    full = pl.concat([plays, end])
    out = []
    for name, n in (("p1", plays.height // 3), ("p2", 2 * plays.height // 3),
                    ("final", full.height)):
        f = d / f"{name}.parquet"
        full.head(n).write_parquet(f)
        out.append(f)
    return game, out


def _dump(db: Path) -> dict[str, pl.DataFrame]:
    con = connect(db, read_only=True)
    try:
        out = {}
        for t, drop in TABLES.items():
            key = "passer_id, season, season_type" if t == "qb_season_scores" else "game_id"
            df = query_pl(con, f"SELECT * FROM {t} ORDER BY {key}, 2, 3")
            out[t] = df.drop([c for c in drop if c in df.columns])
        return out
    finally:
        con.close()


def test_partial_then_more_then_final_equals_final_once(trained_league: TrainedLeague,
                                                        tmp_path: Path) -> None:
    game, (p1, p2, final) = _files(trained_league, tmp_path)
    live, once = tmp_path / "live.duckdb", tmp_path / "once.duckdb"
    for db in (live, once):
        shutil.copy(trained_league.db, db)
    settings = Settings(db=live, data_dir=trained_league.data_dir)
    jobs.live_update(settings, game, path=p1)
    con = connect(live, read_only=True)
    status = con.execute("SELECT final, last_play, plays FROM game_status WHERE game_id = ?",
                         [game]).fetchall()
    con.close()
    assert status and status[0][0] is False and status[0][1].startswith("Q")
    con = connect(live)  # full names, as ingest loads them beside the plays
    tables.ensure(con, "players")
    con.execute("INSERT INTO players (gsis_id, full_name) SELECT DISTINCT passer_id, "
                "'Full ' || passer_id FROM qb_game_scores WHERE game_id = ?", [game])
    con.close()

    client = TestClient(create_app(live))
    scores = client.get(f"/games/{game}/scores").json()["rows"]
    assert scores and all(r["final"] is False and r["last_play"] for r in scores)
    season = int(game[:4])
    board = client.get("/leaderboard", params={"season": season, "min_dropbacks": 0}).json()
    assert {r["game_id"] for r in board["in_progress"]} == {game}
    # the in-progress rows name QBs as every other game row does
    assert {(r["passer_id"], r["passer_full_name"]) for r in board["in_progress"]} == \
        {(r["passer_id"], f"Full {r['passer_id']}") for r in scores}
    marked = {r["passer_id"] for r in board["rows"] if r["final"] is False}
    assert marked == {r["passer_id"] for r in board["in_progress"]} & \
        {r["passer_id"] for r in board["rows"]}

    jobs.live_update(settings, game, path=p2)
    jobs.live_update(settings, game, path=final)
    r = subprocess.run([*CLI, "update", "--game", game, "--path", str(final)],
                       env=trained_league.env(once), capture_output=True, text=True,
                       check=False)
    assert r.returncode == 0, r.stderr
    a, b = _dump(live), _dump(once)
    for t in TABLES:
        assert a[t].equals(b[t]), t
    con = connect(live, read_only=True)
    assert con.execute("SELECT final FROM game_status WHERE game_id = ?",
                       [game]).fetchall() == [(True,)]
    con.close()
    again = TestClient(create_app(live)).get(f"/games/{game}/scores").json()["rows"]
    assert all(r["final"] is True and r["last_play"] is None for r in again)


def test_update_game_arguments(trained_league: TrainedLeague, tmp_path: Path) -> None:
    env = trained_league.env(trained_league.db)
    bad = subprocess.run([*CLI, "update", "--game", "nonsense", "--path", str(tmp_path)],
                         env=env, capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and "--game 'nonsense'" in bad.stderr
    both = subprocess.run([*CLI, "update", "--game", "2030_08_AAA_BBB", "--season", "2030"],
                          env=env, capture_output=True, text=True, check=False)
    assert both.returncode == 1 and "--season" in both.stderr
