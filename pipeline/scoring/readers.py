"""What the scoring stage and the boards read from the warehouse: prepared plays of a model
version (optionally one football split), the stored aggregator, and final game results."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import duckdb
import polars as pl

from passing_score.features.splits import get_split
from passing_score.models.aggregator import PLAY_COLUMNS, Aggregator
from passing_score.pipeline.foundation.errors import InputError
from passing_score.pipeline.foundation.warehouse import (
    fetch_one,
    query_pl,
    require_table,
    table_columns,
    table_exists,
)

HINT = "run `passing-score score` (it fills play_predictions) first"


def prediction_seasons(con: duckdb.DuckDBPyConnection, model_version: str) -> list[int]:
    """Seasons with play_predictions of a model version."""
    require_table(con, "play_predictions", HINT)
    return [int(r[0]) for r in con.execute(
        "SELECT DISTINCT season FROM play_predictions WHERE model_version = ? ORDER BY 1",
        [model_version]).fetchall()]


def span(seasons: Sequence[int]) -> str:
    """`2016-2024` (or `none`) for messages."""
    return f"{min(seasons)}-{max(seasons)}" if seasons else "none"


def load_plays(con: duckdb.DuckDBPyConnection, model_version: str,
               seasons: Sequence[int] | None = None, split: str | None = None) -> pl.DataFrame:
    """Dropbacks of one model version with the columns the aggregator reads (PLAY_COLUMNS;
    a column an older play_predictions lacks is null); `split` keeps that football split's
    dropbacks."""
    require_table(con, "play_predictions", HINT)
    have = set(table_columns(con, "play_predictions"))
    cols = ", ".join(c if c in have else f"NULL::DOUBLE AS {c}" for c in PLAY_COLUMNS)
    sql = (f"SELECT {cols} FROM play_predictions "
           "WHERE model_version = ? AND passer_id IS NOT NULL")
    params: list[object] = [model_version]
    if seasons is not None:
        sql += f" AND season IN ({', '.join('?' for _ in seasons)})"
        params += list(seasons)
    if split is not None:
        pred = get_split(split).sql
        require_table(con, "dropbacks", "run `passing-score features` first")
        sql += (" AND (game_id, play_id) IN (SELECT d.game_id, d.play_id FROM dropbacks d "
                f"WHERE {pred})")
    return query_pl(con, sql + " ORDER BY season, week, game_id, play_id", params)


def load_aggregator(con: duckdb.DuckDBPyConnection, model_version: str) -> Aggregator | None:
    """The stored aggregator of a model version (None when never fitted or of an older
    format, which `score` refits)."""
    if not table_exists(con, "score_weights"):
        return None
    row = fetch_one(con, "SELECT params FROM score_weights WHERE model_version = ?",
                    [model_version])
    return None if row is None else _parse_aggregator(row[0])


@lru_cache(maxsize=16)
def _parse_aggregator(text: str) -> Aggregator | None:
    """Aggregator.from_json, parsed once per stored text (a fitted aggregator is immutable;
    boards and API answers read the same one many times)."""
    return Aggregator.from_json(text)


def require_aggregator(con: duckdb.DuckDBPyConnection, model_version: str) -> Aggregator:
    """The stored aggregator, or a one-line error saying to run `score`."""
    agg = load_aggregator(con, model_version)
    if agg is None:
        raise InputError(f"model version {model_version} has no fitted score weights: "
                         "run `passing-score score` first")
    return agg


def game_results(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Final points and win (1 / 0.5 / 0) of each team in each game, from `plays`."""
    empty = pl.DataFrame(schema={"game_id": pl.String, "team": pl.String,
                                 "team_points": pl.Int64, "opp_points": pl.Int64,
                                 "win": pl.Float64})
    if not table_exists(con, "plays"):
        return empty
    have = table_columns(con, "plays")
    if not {"home_team", "away_team", "home_score", "away_score"} <= set(have):
        return empty
    g = query_pl(con, "SELECT game_id, any_value(home_team) AS home, any_value(away_team) AS away,"
                      " max(home_score) AS hs, max(away_score) AS as_ FROM plays "
                      "GROUP BY game_id")
    g = g.with_columns(pl.col("hs").cast(pl.Int64), pl.col("as_").cast(pl.Int64))
    home = g.select("game_id", pl.col("home").alias("team"), pl.col("hs").alias("team_points"),
                    pl.col("as_").alias("opp_points"))
    away = g.select("game_id", pl.col("away").alias("team"), pl.col("as_").alias("team_points"),
                    pl.col("hs").alias("opp_points"))
    out = pl.concat([home, away]).with_columns(
        pl.when(pl.col("team_points") > pl.col("opp_points")).then(1.0)
        .when(pl.col("team_points") < pl.col("opp_points")).then(0.0)
        .when(pl.col("team_points").is_not_null()).then(0.5).otherwise(None).alias("win"))
    return out.filter(pl.col("team").is_not_null()).unique(["game_id", "team"], keep="first")
