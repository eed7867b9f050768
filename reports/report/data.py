"""The season report's data: season rows of a model version, season-to-date trajectories
and the checks on the QBs asked for."""

from __future__ import annotations

import duckdb
import polars as pl

from passing_score.models.aggregator import Aggregator, board_by_week, summarise
from passing_score.pipeline.foundation.errors import InputError
from passing_score.pipeline.foundation.warehouse import query_pl, table_exists
from passing_score.pipeline.scoring.readers import load_plays


def season_rows(con: duckdb.DuckDBPyConnection, season: int, mv: str) -> pl.DataFrame:
    return query_pl(con, "SELECT * FROM qb_season_scores WHERE season = ? AND season_type = "
                         "'REG' AND model_version = ? ORDER BY rank NULLS LAST, score DESC",
                    [season, mv])


def weekly_boards(con: duckdb.DuckDBPyConnection, season: int, mv: str,
                  agg: Aggregator | None) -> pl.DataFrame | None:
    """The REG season-to-date board after each week (`models.aggregator.board_by_week`, the
    leaderboard's own score), or None without stored parameters or play_predictions."""
    if agg is None or not table_exists(con, "play_predictions"):
        return None
    plays = load_plays(con, mv, [season])
    if plays.height == 0:
        return None
    return board_by_week(agg, summarise(plays, agg.components), season)


def trajectories(games: pl.DataFrame, boards: pl.DataFrame | None) -> pl.DataFrame:
    """Season-to-date score after each REG week a QB played, with that game's own score.

    With the weekly boards this is the leaderboard's score after that week (the last point
    after the season's last week is the season score); without them, the dropback-weighted
    running mean of his game scores.
    """
    g = games.filter(pl.col("season_type") == "REG").sort(["passer_id", "week", "game_id"])
    if g.height == 0:
        return pl.DataFrame(schema={"passer_id": pl.String, "week": pl.Int64,
                                    "to_date": pl.Float64, "game_score": pl.Float64})
    if boards is not None:
        b = boards.select("passer_id", pl.col("after_week").alias("week"),
                          pl.col("score").alias("to_date"))
        out = g.join(b, on=["passer_id", "week"], how="left")
    else:
        w = pl.col("dropbacks").cast(pl.Float64)
        out = g.with_columns((pl.col("score") * w).fill_null(0).cum_sum().over("passer_id")
                             .alias("sw"),
                             pl.when(pl.col("score").is_not_null()).then(w).otherwise(0.0)
                             .cum_sum().over("passer_id").alias("sn"))
        out = out.with_columns((pl.col("sw") / pl.col("sn")).alias("to_date"))
    return out.select("passer_id", "passer_name", "team", "week", "to_date",
                      pl.col("score").alias("game_score"), "opponent", "dropbacks")


def check_qbs(qbs: list[str] | None, season_rows: pl.DataFrame, season: int) -> list[str]:
    if not qbs:
        return []
    known = set(season_rows["passer_id"].to_list())
    ids = list(dict.fromkeys(q.strip() for q in qbs if q.strip()))
    missing = [q for q in ids if q not in known]
    if missing:
        raise InputError(f"--qbs {', '.join(missing)}: no {season} REG score for "
                         f"{'this QB' if len(missing) == 1 else 'these QBs'}")
    return ids
