"""The Python API for notebooks, in the nflreadpy style: `ps.load_scores(...)` and
`ps.leaderboard(...)` return polars DataFrames (pandas through `.to_pandas()`).

Both open the warehouse themselves, read-only (`db`, else PASSING_SCORE_DB, else
data/warehouse.duckdb), use the same vocabulary as the CLI and the API (`week` = the season
through week W, `game_week` = that week's games only, season types REG | POST | ALL) and say
in one line what is missing when the warehouse is empty or not scored.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import polars as pl

LEVELS = ("season", "game", "play")


def _db(db: str | Path | None) -> Path:
    from passing_score.pipeline.foundation.config import get_settings

    return Path(db) if db is not None else get_settings().db


def _seasons(seasons: int | Iterable[int] | None) -> list[int] | None:
    if seasons is None:
        return None
    if isinstance(seasons, int):
        return [seasons]
    return sorted({int(s) for s in seasons})


def leaderboard(season: int, week: int | None = None, game_week: int | None = None,
                season_type: str = "REG", split: str | None = None,
                min_dropbacks: int | None = None, team: str | None = None,
                sort: str | None = None, model_version: str | None = None,
                db: str | Path | None = None) -> pl.DataFrame:
    """The ranked QB board, exactly as `passing-score leaderboard` and the API's /leaderboard.

    Args:
        season: the season (year it starts), e.g. 2024.
        week: the season through this week (season to date); default: the whole season.
        game_week: only that week's games, ranked by game score (rows carry game_id and
            opponent). Give `week` or `game_week`, not both.
        season_type: "REG", "POST" or "ALL" (both).
        split: a football split of a season-to-date board (`passing_score.splits()`).
        min_dropbacks: qualify (and rank) QBs with at least this many dropbacks.
        team: only this team's QBs (ranks stay league ranks).
        sort: a column; "-col" / "+col" force the direction.
        model_version: default: the version the warehouse serves.
        db: warehouse path (default: PASSING_SCORE_DB or data/warehouse.duckdb).

    Returns:
        polars.DataFrame with the board's columns (docs/design.md): rank, passer_id,
        passer_name, passer_full_name, team, games, dropbacks, score, score_low, score_high,
        components, epa_per_dropback, cpoe, score_change, ... and what the board is (season,
        week, game_week, season_type, split, model_version).

    Raises:
        passing_score.InputError: bad input, or data the warehouse does not hold.
        passing_score.WarehouseError: no warehouse, or one without scores.
    """
    from passing_score.pipeline.foundation.warehouse import reading
    from passing_score.reports.leaderboard.board import board

    with reading(_db(db)) as con:
        return board(con, season, week=week, game_week=game_week, season_type=season_type,
                     min_dropbacks=min_dropbacks, team=team, sort=sort,
                     model_version=model_version, split=split, surface="python")


def load_scores(seasons: int | Iterable[int] | None = None, level: str = "season",
                season_type: str = "REG", week: int | None = None,
                game_week: int | None = None, split: str | None = None,
                min_dropbacks: int | None = None, model_version: str | None = None,
                db: str | Path | None = None) -> pl.DataFrame:
    """Passing Scores of one or more seasons at one level, as a polars DataFrame.

    Args:
        seasons: a season, a list of seasons, or None for every scored season.
        level: "season" (one row per ranked QB and season: the leaderboard of each season,
            with `week`, `game_week`, `split` and `min_dropbacks` as in `leaderboard`;
            min_dropbacks=0 keeps every QB), "game" (one row per QB and game) or "play" (one
            row per scored dropback with its expectations and over-expectation values).
        season_type: "REG", "POST" or "ALL".
        week: the season through this week (games and plays: weeks 1..W).
        game_week: that week only.
        split: a football split (season and play levels).
        min_dropbacks: season level: qualify QBs with at least this many dropbacks.
        model_version: default: the version the warehouse serves.
        db: warehouse path (default: PASSING_SCORE_DB or data/warehouse.duckdb).

    Returns:
        polars.DataFrame (use `.to_pandas()` for pandas) with `passer_full_name` beside the
        abbreviated `passer_name` where the warehouse holds player names.

    Raises:
        passing_score.InputError: bad input (an unknown level, season, split ...).
        passing_score.WarehouseError: no warehouse, or one without scores.
    """
    from passing_score.pipeline.foundation.errors import InputError
    from passing_score.pipeline.foundation.versions import current_version
    from passing_score.pipeline.foundation.warehouse import reading
    from passing_score.reports.leaderboard.board import available_seasons, board, check_season
    from passing_score.reports.leaderboard.rows import game_rows, play_rows

    if level not in LEVELS:
        raise InputError(f"level={level!r} is not one of {', '.join(LEVELS)}")
    wanted = _seasons(seasons)
    with reading(_db(db)) as con:
        mv = current_version(con, model_version)
        every = available_seasons(con, mv)
        for s in wanted or []:
            check_season(con, s, mv)
        chosen = wanted if wanted is not None else every
        if level == "season":
            frames = [board(con, s, week=week, game_week=game_week, season_type=season_type,
                            min_dropbacks=min_dropbacks, model_version=mv, split=split,
                            surface="python") for s in chosen]
            return pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame()
        if level == "game":
            return game_rows(con, chosen, mv, season_type, week, game_week, split)
        return play_rows(con, chosen, mv, season_type, week, game_week, split)


def splits() -> pl.DataFrame:
    """The football splits a board can be restricted to: name, description, the qualified
    threshold (season dropbacks in the split)."""
    from passing_score.features.splits import SPLITS

    return pl.DataFrame([{"split": s.name, "description": s.description,
                          "min_dropbacks": s.min_dropbacks} for s in SPLITS.values()])
