"""Score rows below the board for the Python API: QB game rows and scored plays of a model
version, filtered with the board's vocabulary (week = through week W, game_week = week W)."""

from __future__ import annotations

import duckdb
import polars as pl

from passing_score.features.splits import get_split
from passing_score.pipeline.foundation.errors import InputError, WarehouseError
from passing_score.pipeline.foundation.versions import SCORES_HINT
from passing_score.pipeline.foundation.vocabulary import MAX_WEEK, parse_season_type
from passing_score.pipeline.foundation.warehouse import query_pl, table_exists
from passing_score.pipeline.ingest.players import with_full_names


def _where(seasons: list[int], mv: str, season_type: str, week: int | None,
           game_week: int | None, alias: str = "") -> tuple[str, list[object]]:
    st = parse_season_type(season_type, "season_type")
    if week is not None and game_week is not None:
        raise InputError("give either week (the season through that week) or game_week "
                         "(that week's games only), not both")
    for name, value in (("week", week), ("game_week", game_week)):
        if value is not None and not 1 <= value <= MAX_WEEK:
            raise InputError(f"{name}={value} is not a week number (1-{MAX_WEEK})")
    a = f"{alias}." if alias else ""
    marks = ", ".join("?" for _ in seasons) or "NULL"
    sql = f"{a}season IN ({marks}) AND {a}model_version = ?"
    args: list[object] = [*seasons, mv]
    if st != "ALL":
        sql += f" AND {a}season_type = ?"
        args.append(st)
    if week is not None:
        sql += f" AND {a}week <= ?"
        args.append(week)
    if game_week is not None:
        sql += f" AND {a}week = ?"
        args.append(game_week)
    return sql, args


def game_rows(con: duckdb.DuckDBPyConnection, seasons: list[int], mv: str, season_type: str,
              week: int | None, game_week: int | None, split: str | None) -> pl.DataFrame:
    """qb_game_scores rows (every QB, every game of the selection), oldest first."""
    if split is not None:
        raise InputError("split is available at level='season' and level='play'; game "
                         "scores cover every dropback")
    if not table_exists(con, "qb_game_scores"):
        raise WarehouseError(f"table 'qb_game_scores' is missing: {SCORES_HINT}")
    where, args = _where(seasons, mv, season_type, week, game_week)
    df = query_pl(con, f"SELECT * FROM qb_game_scores WHERE {where} "
                       "ORDER BY season, week, game_id, passer_id", args)
    return with_full_names(con, df)


def play_rows(con: duckdb.DuckDBPyConnection, seasons: list[int], mv: str, season_type: str,
              week: int | None, game_week: int | None, split: str | None) -> pl.DataFrame:
    """play_predictions rows (one per scored dropback) of the selection, in game order."""
    if not table_exists(con, "play_predictions"):
        raise WarehouseError(f"table 'play_predictions' is missing: {SCORES_HINT}")
    where, args = _where(seasons, mv, season_type, week, game_week, alias="p")
    join = ""
    if split is not None:
        sp = get_split(split, "split")
        if not table_exists(con, "dropbacks"):
            raise WarehouseError("splits read the dropbacks table, which this warehouse "
                                 "lacks: run `passing-score features`")
        join = "JOIN dropbacks d USING (game_id, play_id)"
        where += f" AND ({sp.sql})"
    df = query_pl(con, f"SELECT p.* FROM play_predictions p {join} WHERE {where} "
                       "ORDER BY p.season, p.week, p.game_id, p.play_id", args)
    return with_full_names(con, df)
