"""The scoring stage: play_predictions -> qb_game_scores, qb_season_scores and score_weights for
one model version, in one transaction. The maths is `models.aggregator`; this module reads its
inputs, fits or loads it, applies it and writes the tables through the registry.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import polars as pl

from passing_score.models import aggregator
from passing_score.pipeline.foundation import tables
from passing_score.pipeline.foundation.errors import InputError
from passing_score.pipeline.foundation.warehouse import transaction
from passing_score.pipeline.scoring.readers import (
    game_results,
    load_aggregator,
    load_plays,
    prediction_seasons,
    span,
)

Progress = Callable[[int, int], Any]
GAME_COLUMNS = list(tables.spec("qb_game_scores").columns or {})
SEASON_COLUMNS = list(tables.spec("qb_season_scores").columns or {})


@dataclass
class ScoreReport:
    """What one `score` run did."""

    model_version: str
    train_seasons: list[int]
    seasons: list[int]
    game_rows: int
    season_rows: int
    fitted: bool
    weights: dict[str, float]
    seconds: float
    notes: list[str] = field(default_factory=list)


def default_train_seasons(seasons: Sequence[int]) -> list[int]:
    """All seasons but the newest (all of them when there is only one)."""
    s = sorted(set(seasons))
    return s[:-1] if len(s) > 1 else s


def score(con: duckdb.DuckDBPyConnection, model_version: str,
          progress: Progress | None = None, *, train_seasons: Sequence[int] | None = None,
          season: int | None = None, week: int | None = None,
          refit: bool = False) -> ScoreReport:
    """Fill qb_game_scores / qb_season_scores (and score_weights) for one model version.

    The aggregator is fitted once per model version and reused (frozen) afterwards unless
    `refit` or other `train_seasons` are asked for; a refit rescores every season. `season`
    (and `week`) limit the rewrite to that season's season rows (and that week's game rows).
    """
    t0 = time.perf_counter()
    steps = 4

    def tick(i: int) -> None:
        if progress is not None:
            progress(i, steps)

    mv = model_version
    if week is not None and season is None:
        raise InputError("--week needs --season")
    all_seasons = prediction_seasons(con, mv)
    if not all_seasons:
        raise InputError(f"model version {mv!r} has no play_predictions: run "
                         "`passing-score score` with it")
    if season is not None and season not in all_seasons:
        raise InputError(f"season {season} has no play_predictions for model {mv} "
                         f"(seasons: {span(all_seasons)})")
    agg = load_aggregator(con, mv)
    want_train = sorted({int(s) for s in train_seasons}) if train_seasons is not None else None
    if want_train is not None:
        missing = sorted(set(want_train) - set(all_seasons))
        if missing:
            raise InputError(f"training seasons {missing} have no play_predictions for {mv}")
    fitted = agg is None or refit or (want_train is not None
                                      and want_train != list(agg.train_seasons))
    train = want_train or (list(agg.train_seasons) if agg is not None and not refit
                           else default_train_seasons(all_seasons))
    notes: list[str] = []
    if fitted and season is not None:
        notes.append("weights were (re)fitted, so every season was rescored")
        season, week = None, None
    tick(1)
    p = load_plays(con, mv, None if fitted or season is None else [season])
    components = aggregator.PRODUCTION.components if fitted or agg is None else agg.components
    stats = aggregator.summarise(p, components)
    if fitted:
        agg = aggregator.fit(stats, train, mv, aggregator.PRODUCTION)
    assert agg is not None
    tick(2)
    # a game is scored against its week's league and its QB's share of his team's dropbacks
    # to date: the whole season's statistics go in, one week's rows come out
    games = aggregator.game_rows(agg, stats, game_results(con))
    if week is not None:
        games = games.filter(pl.col("week") == week)
    seasons = aggregator.season_rows(agg, stats)
    tick(3)
    games = games.with_columns(pl.lit(mv).alias("model_version")).select(GAME_COLUMNS)
    seasons = seasons.with_columns(pl.lit(mv).alias("model_version")).select(SEASON_COLUMNS)
    write_scores(con, agg, games, seasons, season, week, write_params=fitted, notes=notes)
    tick(4)
    done = sorted(set(p["season"].to_list())) if season is None else [season]
    return ScoreReport(model_version=mv, train_seasons=list(agg.train_seasons), seasons=done,
                       game_rows=games.height, season_rows=seasons.height, fitted=fitted,
                       weights=dict(agg.weights), seconds=time.perf_counter() - t0,
                       notes=notes)


def write_scores(con: duckdb.DuckDBPyConnection, agg: aggregator.Aggregator,
                 games: pl.DataFrame, seasons: pl.DataFrame, season: int | None,
                 week: int | None, write_params: bool, notes: list[str]) -> None:
    """Replace one version's score rows (of `season`, and game rows of `week`) and stamp
    score_weights, in one transaction."""
    mv = agg.model_version
    with transaction(con):
        for name in ("qb_game_scores", "qb_season_scores", "score_weights"):
            tables.ensure(con, name, notes)
        where = "model_version = ?"
        args: list[object] = [mv]
        if season is not None:
            where += " AND season = ?"
            args.append(season)
        gwhere, gargs = where, list(args)
        if week is not None:
            gwhere += " AND week = ?"
            gargs.append(week)
        tables.replace_rows(con, "qb_game_scores", games, gwhere, gargs)
        tables.replace_rows(con, "qb_season_scores", seasons, where, args)
        if write_params:
            con.execute("DELETE FROM score_weights WHERE model_version = ?", [mv])
            con.execute("INSERT INTO score_weights (model_version, train_seasons, params) "
                        "VALUES (?, ?, ?)",
                        [mv, json.dumps(list(agg.train_seasons)), agg.to_json()])
        con.execute("UPDATE score_weights SET scored_at = now()::TIMESTAMP "
                    "WHERE model_version = ?", [mv])
