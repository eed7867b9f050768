"""The one leaderboard: ranked QB Passing Scores for a season to date (`week` = through week
W), one week's games (`game_week` = W) or a football split, with the same columns, ranks and
model version on every surface (CLI, API, Python, exports, report).

Season-to-date boards are recomputed from play_predictions with the stored aggregator
(`models.aggregator.season_to_date`), so the board of the season's last week equals
qb_season_scores; a warehouse holding only the score tables serves the full season from
qb_season_scores. One week's games come from qb_game_scores.
"""

from __future__ import annotations

import duckdb
import polars as pl

from passing_score.features.splits import get_split
from passing_score.models.aggregator import rank_rows, season_to_date, summarise
from passing_score.pipeline.foundation.errors import InputError, NotFoundError, WarehouseError
from passing_score.pipeline.foundation.versions import SCORES_HINT, current_version
from passing_score.pipeline.foundation.vocabulary import MAX_WEEK, parse_season_type, say, term
from passing_score.pipeline.foundation.warehouse import fetch_one, query_pl, table_exists
from passing_score.pipeline.ingest.players import with_full_names
from passing_score.pipeline.scoring.readers import load_plays, require_aggregator
from passing_score.reports.leaderboard.columns import (
    ASCENDING_BY_DEFAULT,
    BOARD_COLUMNS,
    META_COLUMNS,
)

MAX_MIN_DROPBACKS = 10_000  # no QB has more dropbacks in a season (as the API's bound)


# ---------------------------------------------------------------- what the warehouse holds


def available_seasons(con: duckdb.DuckDBPyConnection, model_version: str | None = None
                      ) -> list[int]:
    """Seasons with scores (qb_season_scores, else play_predictions) for a model version."""
    for table in ("qb_season_scores", "play_predictions"):
        if table_exists(con, table):
            sql = f"SELECT DISTINCT season FROM {table}"
            args: list[object] = []
            if model_version is not None:
                sql += " WHERE model_version = ?"
                args.append(model_version)
            seasons = [int(r[0]) for r in con.execute(sql + " ORDER BY 1", args).fetchall()]
            if seasons:
                return seasons
    return []


def _seasons_text(seasons: list[int]) -> str:
    return ", ".join(str(s) for s in seasons) if seasons else "none"


def check_season(con: duckdb.DuckDBPyConnection, season: int,
                 model_version: str | None = None) -> None:
    """NotFoundError listing the available seasons when `season` has no scores."""
    seasons = available_seasons(con, model_version)
    if season not in seasons:
        raise NotFoundError(f"season {season} has no Passing Scores in this warehouse "
                            f"(available seasons: {_seasons_text(seasons)})")


def board_tables(split: str | None) -> tuple[str, ...]:
    """Tables a recomputed board reads: play_predictions and fitted weights, plus the
    dropbacks a split's filter reads."""
    return ("play_predictions", "score_weights", *(("dropbacks",) if split else ()))


def can_compute(con: duckdb.DuckDBPyConnection, split: str | None = None) -> bool:
    """Whether season-to-date boards (of `split`, if given) can be recomputed."""
    return all(table_exists(con, t) for t in board_tables(split))


# ---------------------------------------------------------------- boards by source


def _recomputed(con: duckdb.DuckDBPyConnection, season: int, through_week: int | None,
                season_type: str, min_dropbacks: int | None, mv: str,
                split: str | None) -> pl.DataFrame:
    """Season to date from play_predictions with the stored aggregator. A split scores only
    its plays, measured against the split's own league to date (a deep throw against other
    deep throws), on the season's scale."""
    agg = require_aggregator(con, mv)
    plays = load_plays(con, mv, [season], split)
    if plays.height == 0:
        raise NotFoundError(f"season {season} has no play_predictions for model {mv}")
    stats = summarise(plays, agg.components)
    df = season_to_date(agg, stats, season, season_type, through_week, min_dropbacks)
    return df.with_columns(pl.lit(mv).alias("model_version"))


def _week_board(con: duckdb.DuckDBPyConnection, season: int, week: int, season_type: str,
                min_dropbacks: int | None, mv: str) -> pl.DataFrame:
    """The games of one week, ranked by game score; score_change vs the QB's previous game.
    Each row carries its game (game_id, opponent); season type ALL takes the week as it is."""
    if not table_exists(con, "qb_game_scores"):
        raise WarehouseError(f"table 'qb_game_scores' is missing: {SCORES_HINT}")
    scope, args = ("", []) if season_type == "ALL" else (" AND season_type = ?", [season_type])
    games = query_pl(con, "SELECT * FROM qb_game_scores WHERE season = ? AND model_version = ? "
                          f"AND week <= ?{scope}", [season, mv, week, *args])
    this = games.filter(pl.col("week") == week)
    if this.height == 0:
        weeks = sorted(set(games["week"].to_list()))
        what = "" if season_type == "ALL" else f" {season_type}"
        raise NotFoundError(f"season {season} has no{what} games in week {week} "
                            f"(weeks with games: {_seasons_text(weeks)})")
    prev = (games.filter(pl.col("week") < week).sort(["passer_id", "week"])
            .group_by("passer_id", maintain_order=True).last()
            .select("passer_id", pl.col("score").alias("_prev")))
    qualified = (pl.col("dropbacks") >= min_dropbacks) if min_dropbacks is not None \
        else pl.col("qualified").fill_null(False)
    this = rank_rows(this.with_columns(qualified.alias("qualified")).filter(pl.col("qualified")),
                     ["season", "week"])
    return (this.sort("rank").with_columns(pl.lit(1, pl.Int64).alias("games"),
                                           pl.lit(week, pl.Int64).alias("game_week"))
            .join(prev, on="passer_id", how="left")
            .with_columns((pl.col("score") - pl.col("_prev")).alias("score_change"))
            .drop("_prev"))


def _stored_board(con: duckdb.DuckDBPyConnection, season: int, through_week: int | None,
                  season_type: str, min_dropbacks: int | None, mv: str,
                  surface: str = "python") -> pl.DataFrame:
    """The season board read from qb_season_scores (no play_predictions to recompute from):
    the full season only, without score_change."""
    if not table_exists(con, "qb_game_scores"):
        raise WarehouseError(f"table 'qb_game_scores' is missing: {SCORES_HINT}")
    scope, args = ("", []) if season_type == "ALL" else (" AND season_type = ?", [season_type])
    row = fetch_one(con, "SELECT max(week) FROM qb_game_scores WHERE season = ? AND "
                         f"model_version = ?{scope}", [season, mv, *args])
    last = row[0] if row else None
    if last is None:
        raise NotFoundError(f"season {season} has no {season_type} scores")
    if through_week is not None and through_week < last:
        raise NotFoundError(f"{say('week', through_week, surface)}: boards through a week "
                            f"before week {last} (the last of the season) are recomputed from "
                            "play_predictions, which this warehouse lacks")
    df = query_pl(con, "SELECT * FROM qb_season_scores WHERE season = ? AND season_type = ? "
                       "AND model_version = ?", [season, season_type, mv])
    if min_dropbacks is not None:
        df = rank_rows(df.with_columns((pl.col("dropbacks") >= min_dropbacks).alias("qualified")),
                       ["season", "season_type"])
    return (df.filter(pl.col("qualified").fill_null(False)).sort(["rank", "passer_id"])
            .with_columns(pl.lit(None, pl.Float64).alias("score_change"),
                          pl.lit(int(last), pl.Int64).alias("week")))


# ---------------------------------------------------------------- the board


def _sort(df: pl.DataFrame, sort: str) -> pl.DataFrame:
    """Sort by a column; `-col` / `+col` force the direction, else scores go high first."""
    name, desc = sort, None
    if sort[:1] in "+-" and len(sort) > 1:
        name, desc = sort[1:], sort[0] == "-"
    allowed = [c for c in BOARD_COLUMNS if c not in META_COLUMNS]
    if name not in allowed:
        raise InputError(f"cannot sort by {name!r}: use one of {', '.join(allowed)}")
    if desc is None:
        desc = name not in ASCENDING_BY_DEFAULT
    return df.sort([name, "rank", "passer_id"], descending=[desc, False, False], nulls_last=True)


def _refine(df: pl.DataFrame, team: str | None, sort: str | None, surface: str) -> pl.DataFrame:
    """Team filter (after ranking: ranks stay league ranks) and sort."""
    if team is not None:
        teams = sorted({t for t in df["team"].to_list() if t is not None})
        df = df.filter(pl.col("team").str.to_uppercase() == team.upper())
        if df.height == 0:
            raise NotFoundError(f"{say('team', team, surface)}: no ranked QB of that team on "
                                f"this board (teams: {', '.join(teams) or 'none'})")
    return _sort(df, sort) if sort is not None else df


def _check(season_type: str, week: int | None, game_week: int | None,
           min_dropbacks: int | None, sort: str | None, split: str | None,
           surface: str) -> str:
    """Validate a board request (errors in the surface's own terms); returns the season type
    in upper case."""
    st = parse_season_type(season_type, term("season_type", surface))
    if week is not None and game_week is not None:
        raise InputError(f"give either {term('week', surface)} (the season through that week) "
                         f"or {term('game_week', surface)} (that week's games only), not both")
    for name, value in (("week", week), ("game_week", game_week)):
        if value is not None and not 1 <= value <= MAX_WEEK:
            raise InputError(f"{say(name, value, surface)} is not a week number (1-{MAX_WEEK})")
    if min_dropbacks is not None and not 0 <= min_dropbacks <= MAX_MIN_DROPBACKS:
        raise InputError(f"{say('min_dropbacks', min_dropbacks, surface)} is out of range "
                         f"(0-{MAX_MIN_DROPBACKS:,})")
    if sort is not None:
        try:
            _sort(pl.DataFrame(schema=dict.fromkeys(BOARD_COLUMNS, pl.Int64)), sort)
        except InputError as exc:
            raise InputError(f"{say('sort', sort, surface)}: {exc}") from None
    if split is not None:
        get_split(split, term("split", surface))
        if game_week is not None:
            raise InputError(f"splits are season-to-date boards: use {term('week', surface)} "
                             f"(the season through a week), not {term('game_week', surface)}")
    return st


def _label(df: pl.DataFrame, game_week: int | None, split: str | None) -> pl.DataFrame:
    """The board's self-description on every row: game_week, split (and, on season boards,
    no game_id / opponent)."""
    cols = [pl.lit(game_week, pl.Int64).alias("game_week"), pl.lit(split, pl.String).alias("split")]
    for c in ("game_id", "opponent"):
        if game_week is None or c not in df.columns:
            cols.append(pl.lit(None, pl.String).alias(c))
    return df.with_columns(cols)


def board(con: duckdb.DuckDBPyConnection, season: int, week: int | None = None,
          game_week: int | None = None, season_type: str = "REG",
          min_dropbacks: int | None = None, team: str | None = None, sort: str | None = None,
          model_version: str | None = None, split: str | None = None,
          surface: str = "python") -> pl.DataFrame:
    """Ranked QB rows (BOARD_COLUMNS), the one board of every surface.

    Args:
        con: a warehouse connection (read-only is enough).
        season: the season (year it starts).
        week: the season through week W (season to date; default: all of it).
        game_week: week W's games only, ranked by game score (rows carry game_id, opponent).
        season_type: REG, POST or ALL (both).
        min_dropbacks: qualify (and rank) QBs with at least this many dropbacks.
        team: only this team's QBs (ranks stay league ranks).
        sort: a column; `-col` / `+col` force the direction (scores high first by default).
        model_version: default: the version the warehouse serves (`versions.current_version`).
        split: a football split (features/splits.py) of a season-to-date board, qualified by
            the split's own threshold unless `min_dropbacks` is given.
        surface: "cli", "api" or "python": how errors name the parameters.

    Returns:
        The ranked rows; bad input raises InputError (NotFoundError: no such data).
    """
    st = _check(season_type, week, game_week, min_dropbacks, sort, split, surface)
    if split is not None and min_dropbacks is None:
        min_dropbacks = get_split(split).min_dropbacks
    mv = current_version(con, model_version)
    check_season(con, season, mv)
    if game_week is not None:
        df = _week_board(con, season, game_week, st, min_dropbacks, mv)
    elif can_compute(con, split):
        df = _recomputed(con, season, week, st, min_dropbacks, mv, split)
    elif split is not None:
        lacks = [t for t in board_tables(split) if not table_exists(con, t)]
        raise NotFoundError(f"splits are computed from {', '.join(board_tables(split))}; "
                            f"this warehouse lacks {', '.join(lacks)}")
    else:
        df = _stored_board(con, season, week, st, min_dropbacks, mv, surface)
    df = with_full_names(con, _label(df, game_week, split))
    return _refine(df.with_columns(pl.lit(st).alias("season_type")).select(BOARD_COLUMNS),
                   team, sort, surface)
